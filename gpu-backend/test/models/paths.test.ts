// Where a model appears for ComfyUI: names from the edge are checked before any disk access, and
// the cache replaces only its own links, never a file someone else put there.
import { mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "vitest";
import { ModelPathError } from "../../src/models/cache.ts";
import { modelLinkPath } from "../../src/models/ref.ts";
import { BlobSource, blob, cacheFiles, type Dirs, linkOf, newCache, tempDirs } from "./support.ts";

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe("model cache: paths", () => {
  it("refuses names that could leave the models folder, before fetching anything", async ({ expect }) => {
    const source = new BlobSource();
    const cache = await newCache(dirs, source);
    const model = blob("whatever");
    const bad: [string, string][] = [
      ["checkpoints", "../x"],
      ["checkpoints", "/abs"],
      ["checkpoints", "a\\b"],
      ["checkpoints", "sub/../../x"],
      ["checkpoints", "./x"],
      ["checkpoints", "a//b"],
      ["checkpoints", "dir/"],
      ["checkpoints", ""],
      ["..", "x"],
      ["/etc", "x"],
      ["a/b", "x"],
      ["checkpoints", "nul\0byte"],
    ];
    for (const [folder, name] of bad) {
      const err = await cache.ensure({ ...model.ref, folder, name }, "job-1").catch((e: unknown) => e);
      expect(err, `${folder} / ${name}`).toBeInstanceOf(ModelPathError);
      expect((err as ModelPathError).kind).toBe("invalid");
    }
    await expect(cache.ensure({ ...model.ref, sha256: "../../etc/passwd" }, "job-1")).rejects.toMatchObject({ kind: "invalid" });
    await expect(cache.ensure({ ...model.ref, size: -1 }, "job-1")).rejects.toMatchObject({ kind: "invalid" });
    expect(source.calls).toEqual([]);
    expect(modelLinkPath("/m", { folder: "loras", name: "sd15/style.safetensors" })).toBe("/m/loras/sd15/style.safetensors");
  });

  it("links into subfolders, and points a name at new content by replacing only its own link", async ({ expect }) => {
    const v1 = blob("version one of a lora", "loras", "styles/ink.safetensors");
    const v2 = blob("version two of a lora", "loras", "styles/ink.safetensors");
    const cache = await newCache(dirs, new BlobSource().add(v1, v2));
    await cache.ensure(v1.ref, "job-1");
    expect(await readlink(linkOf(dirs, v1.ref))).toBe(join(dirs.cacheDir, "sha256", v1.ref.sha256));
    await cache.ensure(v2.ref, "job-2");
    expect(new Uint8Array(await readFile(linkOf(dirs, v2.ref)))).toEqual(v2.bytes);
    const links = Object.fromEntries(cache.entries().map((e) => [e.sha256, e.links]));
    expect(links).toEqual({ [v1.ref.sha256]: [], [v2.ref.sha256]: ["loras/styles/ink.safetensors"] });
  });

  it("never replaces a file or a foreign symlink that sits where the link would go", async ({ expect }) => {
    const model = blob("a checkpoint someone installed by hand too");
    const cache = await newCache(dirs, new BlobSource().add(model));
    await mkdir(join(dirs.modelsDir, "checkpoints"), { recursive: true });
    await writeFile(linkOf(dirs, model.ref), "installed by the operator");
    await expect(cache.ensure(model.ref, "job-1")).rejects.toMatchObject({ name: "ModelPathError", kind: "occupied" });
    expect(await readFile(linkOf(dirs, model.ref), "utf8")).toBe("installed by the operator");

    const other = blob("another checkpoint", "checkpoints", "elsewhere.safetensors");
    const cache2 = await newCache(dirs, new BlobSource().add(other));
    await writeFile(join(dirs.root, "outside"), "not the cache's");
    await symlink(join(dirs.root, "outside"), linkOf(dirs, other.ref));
    await expect(cache2.ensure(other.ref, "job-1")).rejects.toMatchObject({ kind: "occupied" });
    expect(await readlink(linkOf(dirs, other.ref))).toBe(join(dirs.root, "outside"));
    // The blobs themselves were verified and stay cached; only their links were refused.
    expect(await cacheFiles(dirs)).toEqual([`sha256/${model.ref.sha256}`, `sha256/${other.ref.sha256}`].sort());
  });

  it("keeps the cache folder apart from the models folder (ComfyUI would list the blobs)", async ({ expect }) => {
    await expect(newCache({ ...dirs, cacheDir: join(dirs.modelsDir, "checkpoints", ".cache") }, new BlobSource())).rejects.toThrow(/apart/);
  });
});
