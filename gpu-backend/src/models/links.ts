/**
 * The links that make cached blobs visible to ComfyUI: `modelsDir/<folder>/<name>` is a symlink to
 * `cacheDir/sha256/<hash>`. A link is made atomically (a symlink under a temporary name in the same
 * folder, renamed over the place), so ComfyUI sees the old file or the new one, never a missing
 * one. The cache only ever replaces or removes its own links — symlinks that point into its blob
 * folder; a regular file, a folder or a foreign symlink at the place is left alone and refused.
 */
import { randomUUID } from "node:crypto";
import type { Dirent } from "node:fs";
import { lstat, mkdir, readdir, readlink, realpath, rename, rm, stat, symlink, unlink } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { isWithin, ModelPathError, SHA256_HEX } from "./ref.ts";

/** Temporary link names, `.model-cache-<uuid>.tmp`: never listed as a model for long, deleted at start. */
const TEMP_LINK = /^\.model-cache-[0-9a-f-]{36}\.tmp$/;

/** The blob a link points to, when it points into `blobsDir` (its hash), else undefined. */
export function blobOfTarget(linkPath: string, target: string, blobsDir: string): string | undefined {
  const absolute = resolve(dirname(linkPath), target);
  const rel = relative(blobsDir, absolute);
  return !rel.includes("/") && SHA256_HEX.test(rel) ? rel : undefined;
}

/** The blob hash an existing link at `linkPath` points to; undefined when nothing is there; throws `occupied` for anything not ours. */
async function currentLink(linkPath: string, blobsDir: string): Promise<string | undefined> {
  const info = await lstat(linkPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (info === undefined) return undefined;
  const hash = info.isSymbolicLink() ? blobOfTarget(linkPath, await readlink(linkPath), blobsDir) : undefined;
  if (hash === undefined) throw new ModelPathError("occupied", `${linkPath} exists and is not managed by the model cache`);
  return hash;
}

/**
 * Points `linkPath` at the blob `hash`. Returns the hash it pointed to before, when it was another
 * of the cache's blobs (the caller forgets that link). A free place gets the symlink directly
 * (`symlink` is atomic and fails if a file appeared meanwhile); one of the cache's links is
 * replaced by a symlink under a temporary name renamed over it.
 */
export async function placeLink(linkPath: string, hash: string, blobsDir: string): Promise<string | undefined> {
  const blob = join(blobsDir, hash);
  await mkdir(dirname(linkPath), { recursive: true });
  for (;;) {
    const before = await currentLink(linkPath, blobsDir);
    if (before === hash) return undefined;
    if (before === undefined) {
      const made = await symlink(blob, linkPath).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === "EEXIST") return false; // something appeared: look again
          throw err;
        },
      );
      if (made) return undefined;
      continue;
    }
    const temp = join(dirname(linkPath), `.model-cache-${randomUUID()}.tmp`);
    await symlink(blob, temp);
    try {
      await rename(temp, linkPath);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return before;
  }
}

/** Removes the link at `linkPath` if it still points at the blob `hash` (a link replaced since is kept). */
export async function removeLink(linkPath: string, hash: string, blobsDir: string): Promise<boolean> {
  const info = await lstat(linkPath).catch(() => undefined);
  if (!info?.isSymbolicLink()) return false;
  if (blobOfTarget(linkPath, await readlink(linkPath), blobsDir) !== hash) return false;
  await unlink(linkPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  return true;
}

export type FoundLink = { path: string; hash: string } | { path: string; temp: true };

/**
 * Every link into `blobsDir` under `modelsDir`, and every temporary link left by a crash. Symlinked
 * folders are followed (ComfyUI follows them), each real folder visited once.
 */
export async function findLinks(modelsDir: string, blobsDir: string): Promise<FoundLink[]> {
  const found: FoundLink[] = [];
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir).catch(() => undefined);
    if (real === undefined || seen.has(real)) return;
    seen.add(real);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isSymbolicLink()) {
        const target = await readlink(path).catch(() => undefined);
        if (target === undefined) continue;
        const hash = blobOfTarget(path, target, blobsDir);
        if (TEMP_LINK.test(entry.name) && hash !== undefined) found.push({ path, temp: true });
        else if (hash !== undefined) found.push({ path, hash });
        else if ((await stat(path).catch(() => undefined))?.isDirectory() && !isWithin(resolve(dir, target), blobsDir)) await walk(path);
      }
    }
  };
  await walk(resolve(modelsDir));
  return found;
}

/** `folder/name` of a link, as the catalog names it. */
export function linkName(modelsDir: string, linkPath: string): string {
  return relative(resolve(modelsDir), linkPath);
}
