// init() after a crash: temporary downloads and links are deleted, verified blobs are kept and
// indexed with their links, links to blobs that are gone are dropped, other files are untouched.
import { mkdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "vitest";
import { BlobSource, blob, cacheFiles, type Dirs, exists, linkOf, newCache, tempDirs } from "./support.ts";

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe("model cache: restart", () => {
  it("cleans up after a crash and keeps the verified blobs", async ({ expect }) => {
    const kept = blob("a checkpoint that survived the crash", "checkpoints", "sd/kept.safetensors");
    const lost = blob("a lora whose blob disappeared", "loras", "lost.safetensors");
    const first = await newCache(dirs, new BlobSource().add(kept, lost));
    await first.ensure(kept.ref, "job-1");
    await first.ensure(lost.ref, "job-1");

    // What a crash (or an operator) can leave: a half-written download, a blob gone under its
    // link, a temporary link never renamed; beside files the cache does not own.
    const blobs = join(dirs.cacheDir, "sha256");
    await writeFile(join(dirs.cacheDir, "tmp", `${kept.ref.sha256}.0b7c5c9e-3c1e-4b7e-9f6e-1d2c3b4a5f60.part`), "half of it");
    await rm(join(blobs, lost.ref.sha256));
    const tempLink = join(dirs.modelsDir, "checkpoints", ".model-cache-0b7c5c9e-3c1e-4b7e-9f6e-1d2c3b4a5f60.tmp");
    await symlink(join(blobs, kept.ref.sha256), tempLink);
    await writeFile(join(dirs.modelsDir, "checkpoints", "hand-installed.safetensors"), "the operator's");
    await writeFile(join(dirs.root, "elsewhere.bin"), "not in the cache");
    const foreign = join(dirs.modelsDir, "loras", "foreign.safetensors");
    await symlink(join(dirs.root, "elsewhere.bin"), foreign);
    await mkdir(join(dirs.modelsDir, "vae"), { recursive: true });
    const relativeDangling = join(dirs.modelsDir, "vae", "relative.safetensors");
    await symlink(join("..", "..", "cache", "sha256", "f".repeat(64)), relativeDangling);

    const source = new BlobSource().add(kept, lost);
    const cache = await newCache(dirs, source);
    expect(await cacheFiles(dirs)).toEqual([`sha256/${kept.ref.sha256}`]);
    expect(await exists(linkOf(dirs, lost.ref))).toBe(false);
    expect(await exists(tempLink)).toBe(false);
    expect(await exists(relativeDangling)).toBe(false);
    expect(await readFile(join(dirs.modelsDir, "checkpoints", "hand-installed.safetensors"), "utf8")).toBe("the operator's");
    expect(await readlink(foreign)).toBe(join(dirs.root, "elsewhere.bin"));
    expect(cache.entries()).toEqual([
      { sha256: kept.ref.sha256, size: kept.ref.size, last_used: expect.any(Number), pinned: false, in_use: false, links: ["checkpoints/sd/kept.safetensors"] },
    ]);

    expect(await cache.ensure(kept.ref, "job-2")).toMatchObject({ outcome: "hit" });
    expect(await cache.ensure(lost.ref, "job-2")).toMatchObject({ outcome: "fetched" });
    expect(source.calls.map((r) => r.sha256)).toEqual([lost.ref.sha256]);
    expect(new Uint8Array(await readFile(linkOf(dirs, lost.ref)))).toEqual(lost.bytes);
  });

  it("forgets a blob changed behind its back and fetches it again", async ({ expect }) => {
    const model = blob("a checkpoint truncated by something else");
    const source = new BlobSource().add(model);
    const cache = await newCache(dirs, source);
    await cache.ensure(model.ref, "job-1");
    const path = join(dirs.cacheDir, "sha256", model.ref.sha256);
    await rm(path);
    await writeFile(path, "short");
    expect(await cache.ensure(model.ref, "job-1")).toMatchObject({ outcome: "fetched" });
    expect(new Uint8Array(await readFile(linkOf(dirs, model.ref)))).toEqual(model.bytes);
    expect(source.calls).toHaveLength(2);
  });
});
