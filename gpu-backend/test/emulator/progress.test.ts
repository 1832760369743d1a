// Sampler progress: one `progress` per step (value 1…steps), each after a `progress_state`
// carrying the same value; JPEG previews only with --preview-method auto, in the format the
// client negotiated (type 1 by default, type 4 after the feature_flags handshake).
import { describe, it } from "vitest";
import { queuePrompt, startTestEmulator, WsRecorder } from "./harness.ts";

const samplerPrompt = (steps: number) => ({
  "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed: 7, steps, denoise: 1.0 } },
  "3": { class_type: "PreviewImage", inputs: { images: ["2", 0] } },
});

describe("sampler progress", () => {
  it("emits progress 1..steps for the sampler node, each preceded by its progress_state", async ({ expect }) => {
    const emulator = await startTestEmulator({ stepMs: 1 });
    const ws = await WsRecorder.connect(emulator, "c1");
    const promptId = await queuePrompt(emulator, samplerPrompt(4), "c1");
    await ws.waitForDone(promptId);

    const progress = ws.messages.filter((m) => m.type === "progress");
    expect(progress.map((m) => m.data)).toEqual([1, 2, 3, 4].map((value) => ({ value, max: 4, prompt_id: promptId, node: "2" })));
    for (const p of progress) {
      const before = ws.messages[ws.messages.indexOf(p) - 1];
      expect(before?.type).toBe("progress_state");
      const state = (before!.data.nodes as Record<string, { value: number; max: number; state: string }>)["2"];
      expect(state).toMatchObject({ value: p.data.value, max: 4, state: "running" });
    }
    // All progress events sit between the sampler's `executing` and the preview node's.
    const types = ws.messages.map((m) => (m.type === "executing" ? `executing ${m.data.node}` : m.type));
    expect(types.indexOf("executing 2")).toBeLessThan(types.indexOf("progress"));
    expect(types.lastIndexOf("progress")).toBeLessThan(types.indexOf("executing 3"));
    expect(ws.binary).toHaveLength(0); // --preview-method none is ComfyUI's default
  });

  it("sends type-1 JPEG previews with --preview-method auto", async ({ expect }) => {
    const emulator = await startTestEmulator({ previewMethod: "auto" });
    const ws = await WsRecorder.connect(emulator, "c1");
    const promptId = await queuePrompt(emulator, samplerPrompt(3), "c1");
    await ws.waitForDone(promptId);

    expect(ws.binary).toHaveLength(3);
    for (const frame of ws.binary) {
      expect(frame.readUInt32BE(0)).toBe(1); // PREVIEW_IMAGE
      expect(frame.readUInt32BE(4)).toBe(1); // JPEG
      expect(frame.subarray(8, 10)).toEqual(Buffer.from([0xff, 0xd8]));
      expect(frame.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
      // SOF0 carries the preview size: the 64×64 image fits within 512 unchanged.
      const sof = frame.indexOf(Buffer.from([0xff, 0xc0]), 8);
      expect([frame.readUInt16BE(sof + 7), frame.readUInt16BE(sof + 5)]).toEqual([64, 64]);
    }
  });

  it("switches to type-4 previews with metadata after the feature_flags handshake", async ({ expect }) => {
    const emulator = await startTestEmulator({ previewMethod: "auto" });
    const ws = await WsRecorder.connect(emulator, "c1");
    ws.sendJson({ type: "feature_flags", data: { supports_preview_metadata: true } });
    const flags = await ws.waitFor((m) => m.type === "feature_flags");
    expect(flags.data).toEqual({ supports_preview_metadata: true, max_upload_size: 104857600 });

    const promptId = await queuePrompt(emulator, samplerPrompt(2), "c1");
    await ws.waitForDone(promptId);
    expect(ws.binary).toHaveLength(2);
    const frame = ws.binary[0] as Buffer;
    expect(frame.readUInt32BE(0)).toBe(4); // PREVIEW_IMAGE_WITH_METADATA
    const length = frame.readUInt32BE(4);
    expect(JSON.parse(frame.subarray(8, 8 + length).toString())).toEqual({
      node_id: "2",
      prompt_id: promptId,
      display_node_id: "2",
      parent_node_id: null,
      real_node_id: "2",
      image_type: "image/jpeg",
    });
    expect(frame.subarray(8 + length, 10 + length)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it("ignores a feature_flags message that is not the client's first", async ({ expect }) => {
    const emulator = await startTestEmulator({ previewMethod: "auto" });
    const ws = await WsRecorder.connect(emulator, "c1");
    ws.sendJson({ type: "hello", data: {} });
    ws.sendJson({ type: "feature_flags", data: { supports_preview_metadata: true } });
    const promptId = await queuePrompt(emulator, samplerPrompt(1), "c1");
    await ws.waitForDone(promptId);
    expect(ws.messages.some((m) => m.type === "feature_flags")).toBe(false);
    expect(ws.binary.map((f) => f.readUInt32BE(0))).toEqual([1]);
  });
});
