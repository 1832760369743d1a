// KSampler previews as ComfyUI sends them: binary frames (type 1 + format 1 = JPEG, or type 4
// with metadata after the feature_flags handshake), one per step, sized by the preview method:
// latent2rgb (what `auto` means) is the latent's size, TAESD the image's when its decoder is
// installed, both shrunk to --preview-size with PIL's thumbnail arithmetic.
import { describe, it } from "vitest";
import type { EmulatorHandle, StartOptions } from "../../emulator/index.ts";
import { thumbnail } from "../../emulator/nodes/previews.ts";
import { queuePrompt, startTestEmulator, WsRecorder } from "./harness.ts";
import { defaultGraph, installModels } from "./model-support.ts";

async function previews(options: StartOptions, graph = defaultGraph({ width: 512, height: 384, steps: 3 }), extra: Record<string, object> = {}) {
  const log: string[] = [];
  const emulator: EmulatorHandle = await startTestEmulator({ ...options, log: (line) => log.push(line) });
  installModels(emulator, { "checkpoints/sd15.safetensors": { architecture: "stable-diffusion-v1", sizeBytes: 1_000 }, ...extra });
  const ws = await WsRecorder.connect(emulator, "c1");
  const promptId = await queuePrompt(emulator, graph, "c1");
  await ws.waitForDone(promptId, 20_000);
  return { frames: ws.binary, log, ws };
}

/** Width and height from a JPEG's SOF0 segment. */
function jpegSize(jpeg: Buffer): [number, number] {
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  return [jpeg.readUInt16BE(sof + 7), jpeg.readUInt16BE(sof + 5)];
}

describe("KSampler previews", () => {
  it("sends none by default", async ({ expect }) => {
    expect((await previews({})).frames).toEqual([]);
  });

  it("sends one type-1 JPEG frame per step, latent-sized, with --preview-method auto (latent2rgb)", async ({ expect }) => {
    const { frames, ws } = await previews({ previewMethod: "auto" });
    expect(frames).toHaveLength(3);
    for (const frame of frames) {
      expect([frame.readUInt32BE(0), frame.readUInt32BE(4)]).toEqual([1, 1]); // PREVIEW_IMAGE, JPEG
      expect(frame.subarray(8, 10)).toEqual(Buffer.from([0xff, 0xd8]));
      expect(jpegSize(frame.subarray(8))).toEqual([64, 48]);
    }
    // Each frame follows its step's progress event, as ComfyUI's progress hook sends them.
    expect(ws.messages.filter((m) => m.type === "progress").map((m) => m.data.value)).toEqual([1, 2, 3]);
  });

  it("sends full-size TAESD previews when the decoder is installed, shrunk to --preview-size", async ({ expect }) => {
    const { frames } = await previews({ previewMethod: "taesd", previewSize: 256 }, undefined, { "vae_approx/taesd_decoder.pth": { sizeBytes: 1_000 } });
    expect(frames.map((f) => jpegSize(f.subarray(8)))).toEqual([
      [256, 192],
      [256, 192],
      [256, 192],
    ]);
  });

  it("falls back to latent2rgb with ComfyUI's warning when the TAESD decoder is missing", async ({ expect }) => {
    const { frames, log } = await previews({ previewMethod: "taesd" });
    expect(frames.map((f) => jpegSize(f.subarray(8)))[0]).toEqual([64, 48]);
    expect(log).toContain("Warning: TAESD previews enabled, but could not find models/vae_approx/taesd_decoder");
  });

  it("uses type-4 frames with metadata after the feature_flags handshake", async ({ expect }) => {
    const emulator = await startTestEmulator({ previewMethod: "latent2rgb" });
    installModels(emulator, { "checkpoints/sd15.safetensors": { sizeBytes: 1_000 } });
    const ws = await WsRecorder.connect(emulator, "c1");
    ws.sendJson({ type: "feature_flags", data: { supports_preview_metadata: true } });
    await ws.waitFor((m) => m.type === "feature_flags");
    const promptId = await queuePrompt(emulator, defaultGraph({ steps: 2 }), "c1");
    await ws.waitForDone(promptId, 20_000);
    expect(ws.binary).toHaveLength(2);
    const frame = ws.binary[0] as Buffer;
    expect(frame.readUInt32BE(0)).toBe(4);
    const length = frame.readUInt32BE(4);
    expect(JSON.parse(frame.subarray(8, 8 + length).toString())).toMatchObject({ node_id: "3", prompt_id: promptId, image_type: "image/jpeg" });
  });

  it("shrinks like PIL's Image.thumbnail", ({ expect }) => {
    expect(thumbnail(64, 48, 512)).toEqual({ width: 64, height: 48 });
    expect(thumbnail(1024, 768, 512)).toEqual({ width: 512, height: 384 });
    expect(thumbnail(768, 1024, 512)).toEqual({ width: 384, height: 512 });
    expect(thumbnail(1000, 3, 512)).toEqual({ width: 512, height: 2 });
  });
});
