// Fake model files: safetensors-shaped (8-byte little-endian header length + JSON header) with
// the architecture and declared size in `__metadata__`, so a few hundred bytes stand for GBs;
// and the header errors the safetensors crate gives for files that are not shaped like that.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, onTestFinished } from "vitest";
import { openModelFile } from "../../emulator/models/files.ts";
import { ModelFolders } from "../../emulator/models/folders.ts";
import { readSafetensorsHeader, writeFakeModel } from "../../emulator/models/safetensors.ts";

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "emu-fake-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("fake model files", () => {
  it("declare a size and an architecture in a small, valid safetensors header", ({ expect }) => {
    const path = join(tempDir(), "models", "checkpoints", "sd15.safetensors");
    writeFakeModel(path, { architecture: "stable-diffusion-v1", sizeBytes: 2_132_625_894, metadata: { "emulator.scale": "4" } });
    const bytes = readFileSync(path);
    expect(bytes.length).toBeLessThan(256);
    const length = Number(bytes.readBigUInt64LE(0));
    expect(length % 8).toBe(0);
    expect(bytes.length).toBe(8 + length);
    expect(JSON.parse(bytes.subarray(8).toString())).toEqual({
      __metadata__: { "emulator.scale": "4", "modelspec.architecture": "stable-diffusion-v1", "emulator.size_bytes": "2132625894" },
    });
    expect(readSafetensorsHeader(path)).toEqual({
      metadata: { "emulator.scale": "4", "modelspec.architecture": "stable-diffusion-v1", "emulator.size_bytes": "2132625894" },
      sizeBytes: 2_132_625_894,
      architecture: "stable-diffusion-v1",
    });
  });

  it("stand for their real size when they declare none", ({ expect }) => {
    const path = join(tempDir(), "plain.safetensors");
    writeFakeModel(path);
    expect(readSafetensorsHeader(path)).toMatchObject({ sizeBytes: statSync(path).size, architecture: undefined });
  });

  it("fail like safetensors when the header is broken; other extensions fall back to the file's size", ({ expect }) => {
    const dir = tempDir();
    const folders = ModelFolders.defaults(dir, join(dir, "models"));
    const file = (name: string, content: string | Buffer) => writeFileSync(join(dir, "models", "checkpoints", name), content);
    writeFakeModel(join(dir, "models", "checkpoints", "ok.safetensors"));
    file("tiny.safetensors", "abc");
    const short = Buffer.alloc(16);
    short.writeBigUInt64LE(100n);
    file("short.safetensors", short);
    const garbage = Buffer.concat([Buffer.alloc(8), Buffer.from("not json")]);
    garbage.writeBigUInt64LE(8n);
    file("garbage.sft", garbage);
    file("pickle.ckpt", "PK\u0003\u0004 a zip of pickles");

    const fail = (name: string) => {
      try {
        openModelFile(folders, "checkpoints", name);
        return "no error";
      } catch (err) {
        return `${(err as { pyType?: string }).pyType}: ${(err as Error).message.split("\n")[0]}`;
      }
    };
    expect(fail("tiny.safetensors")).toBe("safetensors_rust.SafetensorError: Error while deserializing header: HeaderTooSmall");
    expect(fail("short.safetensors")).toBe("safetensors_rust.SafetensorError: Error while deserializing header: InvalidHeaderLength");
    expect(fail("garbage.sft")).toBe("safetensors_rust.SafetensorError: Error while deserializing header: InvalidHeaderDeserialization");
    const pickle = join(dir, "models", "checkpoints", "pickle.ckpt");
    expect(openModelFile(folders, "checkpoints", "pickle.ckpt")).toMatchObject({ path: pickle, sizeBytes: statSync(pickle).size, architecture: undefined });
    expect(fail("ok.safetensors")).toBe("no error");
  });
});
