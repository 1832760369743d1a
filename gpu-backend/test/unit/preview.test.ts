// ComfyUI's binary preview frames as the follower receives them, and where a preview lands: with
// metadata, on the prompt it names; without, on the prompt ComfyUI said it is executing.
import { describe, expect, it } from "vitest";
import { encodeSolidJpeg } from "../../emulator/media/jpeg.ts";
import { encodePng } from "../../emulator/media/png.ts";
import type { ComfyClient } from "../../src/comfy/client.ts";
import { MAX_PREVIEW_BYTES, type Preview, parseBinaryFrame } from "../../src/comfy/preview.ts";
import { PromptTracker } from "../../src/comfy/prompt-tracker.ts";
import { createLogger } from "../../src/log.ts";

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const jpeg = Buffer.from(encodeSolidJpeg(8, 8, [200, 10, 10]));
const png = Buffer.from(encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(12) }));
const plain = (format: number, image: Buffer) => Buffer.concat([u32(1), u32(format), image]);
const withMeta = (meta: unknown, image: Buffer) => {
  const json = Buffer.from(JSON.stringify(meta));
  return Buffer.concat([u32(4), u32(json.length), json, image]);
};

describe("binary frames", () => {
  it("PREVIEW_IMAGE carries a JPEG (format 1) or a PNG (format 2), without ids", () => {
    expect(parseBinaryFrame(plain(1, jpeg))).toEqual({ contentType: "image/jpeg", bytes: jpeg });
    expect(parseBinaryFrame(plain(2, png))).toEqual({ contentType: "image/png", bytes: png });
  });

  it("PREVIEW_IMAGE_WITH_METADATA names its prompt and node", () => {
    const frame = withMeta({ node_id: "3", prompt_id: "p-1", display_node_id: "3", parent_node_id: null, real_node_id: "3", image_type: "image/jpeg" }, jpeg);
    expect(parseBinaryFrame(frame)).toEqual({ contentType: "image/jpeg", bytes: jpeg, promptId: "p-1", nodeId: "3" });
  });

  it("drops frames that do not hold what they say, and frames that are not previews", () => {
    expect(parseBinaryFrame(plain(1, png))).toBeUndefined(); // PNG bytes declared as JPEG
    expect(parseBinaryFrame(plain(7, jpeg))).toBeUndefined(); // unknown format
    expect(parseBinaryFrame(plain(1, Buffer.alloc(0)))).toBeUndefined();
    expect(parseBinaryFrame(withMeta({ image_type: "image/webp" }, jpeg))).toBeUndefined();
    expect(parseBinaryFrame(Buffer.concat([u32(4), u32(1000), Buffer.from("{}"), jpeg]))).toBeUndefined(); // length past the end
    expect(parseBinaryFrame(Buffer.concat([u32(4), u32(3), Buffer.from("{x}"), jpeg]))).toBeUndefined(); // broken JSON
    expect(parseBinaryFrame(Buffer.concat([u32(3), u32(1), Buffer.from("1progress text")]))).toBeUndefined(); // TEXT
    expect(parseBinaryFrame(Buffer.from([0, 0, 0]))).toBeUndefined();
    const huge = Buffer.concat([jpeg, Buffer.alloc(MAX_PREVIEW_BYTES)]);
    expect(parseBinaryFrame(plain(1, huge))).toBeUndefined();
  });

  it("copies the image out of the frame (the socket's buffer may be reused)", () => {
    const frame = plain(1, jpeg);
    const preview = parseBinaryFrame(frame)!;
    frame.fill(0);
    expect(preview.bytes.equals(jpeg)).toBe(true);
  });
});

describe("where a preview lands", () => {
  // The client is only used by the /history poll, which these tests never start.
  const tracker = () =>
    new PromptTracker({ client: {} as ComfyClient, log: createLogger("error"), pollMs: 1_000, stuckTimeoutMs: 10_000, onStuck: async () => {} });
  const watching = (t: PromptTracker, promptId: string) => {
    const got: Preview[] = [];
    t.watch(promptId, { onStarted() {}, onProgress() {}, onEnded() {}, onPreview: (p) => got.push(p) });
    return got;
  };
  const preview = (promptId?: string): Preview => ({ contentType: "image/jpeg", bytes: jpeg, ...(promptId ? { promptId } : {}) });

  it("a preview with metadata goes to the prompt it names", () => {
    const t = tracker();
    const a = watching(t, "a");
    const b = watching(t, "b");
    t.handleMessage({ type: "executing", data: { node: "3", prompt_id: "a" } });
    t.handlePreview(preview("b"));
    expect([a.length, b.length]).toEqual([0, 1]);
  });

  it("a plain preview goes to the prompt executing, not to one that ran before it", () => {
    const t = tracker();
    const a = watching(t, "a");
    t.handlePreview(preview());
    expect(a).toHaveLength(0); // nothing executing yet
    t.handleMessage({ type: "execution_start", data: { prompt_id: "a", timestamp: 1 } });
    t.handlePreview(preview());
    expect(a).toHaveLength(1);
    // Another client's prompt runs next: its previews are not ours.
    t.handleMessage({ type: "execution_start", data: { prompt_id: "other", timestamp: 2 } });
    t.handlePreview(preview());
    expect(a).toHaveLength(1);
  });
});
