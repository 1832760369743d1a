// Reading an output file of a finished prompt (src/jobs/read-output.ts): from ComfyUI's folder on
// disk, held to that folder and to regular files; through /view only when the file is not on disk.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "vitest";
import { ComfyError, type FileRef } from "../../src/comfy/client.ts";
import type { ComfyDirs } from "../../src/config.ts";
import { readOutput } from "../../src/jobs/read-output.ts";

let base: string;
let dirs: ComfyDirs;
let viewed: FileRef[];
const VIEW_BYTES = new Uint8Array([9, 9, 9]);
const comfy = {
  view: async (file: FileRef) => {
    viewed.push(file);
    return { bytes: VIEW_BYTES, contentType: "image/png" };
  },
};
const read = (file: FileRef, maxBytes = 1024) => readOutput(file, { comfy, dirs, maxBytes, timeoutMs: 1_000 });
const ref = (filename: string, type = "output", subfolder = "saas/job_1"): FileRef => ({ filename, subfolder, type });

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "read-output-"));
  dirs = { base, input: join(base, "input"), output: join(base, "output"), temp: join(base, "temp") };
  for (const d of [dirs.input, join(dirs.output, "saas/job_1"), join(dirs.temp, "saas/job_1")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(base, "secret.txt"), "not an output");
  viewed = [];
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe("reading an output", () => {
  it("reads an output or temp file from its folder, without asking /view", async ({ expect }) => {
    writeFileSync(join(dirs.output, "saas/job_1/a.png"), Buffer.from([1, 2, 3, 4]));
    writeFileSync(join(dirs.temp, "saas/job_1/b.png"), Buffer.from([5]));
    const a = await read(ref("a.png"));
    expect([...a.bytes]).toEqual([1, 2, 3, 4]);
    expect(a.source).toBe("disk");
    expect([...(await read(ref("b.png", "temp"))).bytes]).toEqual([5]);
    expect(viewed).toEqual([]);
  });

  it("reads a large file whole, off the event loop", async ({ expect }) => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    writeFileSync(join(dirs.output, "saas/job_1/big.webm"), big);
    const got = await read(ref("big.webm"), 8 * 1024 * 1024);
    expect(got.source).toBe("disk");
    expect(Buffer.from(got.bytes).equals(big)).toBe(true);
  });

  it("asks /view for a file that is not on disk, or of another type", async ({ expect }) => {
    expect((await read(ref("missing.png"))).source).toBe("view");
    expect((await read(ref("x.png", "input"))).source).toBe("view");
    expect(viewed.map((f) => f.filename)).toEqual(["missing.png", "x.png"]);
  });

  it("refuses a symlink that leads out of the folder, and never hands it to /view", async ({ expect }) => {
    symlinkSync(join(base, "secret.txt"), join(dirs.output, "saas/job_1/leak.png"));
    await expect(read(ref("leak.png"))).rejects.toMatchObject({ status: 403 });
    // A path that escapes by name is not a file of the folder at all.
    await expect(read(ref("../../../secret.txt"))).resolves.toMatchObject({ source: "view" });
    expect(viewed.map((f) => f.filename)).toEqual(["../../../secret.txt"]);
  });

  it("refuses what is not a regular file (a FIFO would block a plain read)", async ({ expect }) => {
    execFileSync("mkfifo", [join(dirs.output, "saas/job_1/pipe.png")]);
    mkdirSync(join(dirs.output, "saas/job_1/dir.png"));
    await expect(read(ref("pipe.png"))).rejects.toMatchObject({ status: 403 });
    await expect(read(ref("dir.png"))).rejects.toMatchObject({ status: 403 });
    expect(viewed).toEqual([]);
  });

  it("refuses a file over the cap with a 413, as /view does", async ({ expect }) => {
    writeFileSync(join(dirs.output, "saas/job_1/big.png"), Buffer.alloc(2048));
    const err = await read(ref("big.png"), 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComfyError);
    expect((err as ComfyError).status).toBe(413);
  });
});
