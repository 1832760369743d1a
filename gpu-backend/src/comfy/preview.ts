/**
 * ComfyUI's binary WebSocket frames (server.py, protocol.py at a125cd84): a big-endian u32 event
 * type, then
 * - 1 PREVIEW_IMAGE: a u32 format (1 JPEG, 2 PNG) and the image;
 * - 4 PREVIEW_IMAGE_WITH_METADATA (sent instead of 1 to a client that announced
 *   `supports_preview_metadata`): a u32 length, that much JSON (`prompt_id`, `node_id`,
 *   `image_type`, …) and the image;
 * - 3 TEXT (a node's progress text) and anything newer are not previews and are ignored.
 * A frame that does not hold what it says (the bytes are not the declared image type, a bad
 * length, broken JSON) is dropped: custom nodes can send anything, and previews go on to clients.
 */

export const PREVIEW_IMAGE = 1;
export const PREVIEW_IMAGE_WITH_METADATA = 4;
/** Larger previews are dropped (ComfyUI's are a few tens of KB at the default 512 px). */
export const MAX_PREVIEW_BYTES = 4 * 1024 * 1024;

export type PreviewType = "image/jpeg" | "image/png";

export interface Preview {
  contentType: PreviewType;
  bytes: Buffer;
  /** Only in frames with metadata; a plain frame belongs to the prompt executing at the time. */
  promptId?: string;
  nodeId?: string;
}

const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function parseBinaryFrame(frame: Buffer): Preview | undefined {
  if (frame.length < 8) return undefined;
  const event = frame.readUInt32BE(0);
  if (event === PREVIEW_IMAGE) {
    const format = frame.readUInt32BE(4);
    const contentType = format === 1 ? "image/jpeg" : format === 2 ? "image/png" : undefined;
    return contentType ? image(contentType, frame.subarray(8)) : undefined;
  }
  if (event === PREVIEW_IMAGE_WITH_METADATA) {
    const length = frame.readUInt32BE(4);
    if (length > frame.length - 8) return undefined;
    const meta = parseMetadata(frame.subarray(8, 8 + length));
    if (!meta) return undefined;
    const contentType = meta.image_type === "image/png" ? "image/png" : meta.image_type === "image/jpeg" ? "image/jpeg" : undefined;
    if (!contentType) return undefined;
    const preview = image(contentType, frame.subarray(8 + length));
    if (!preview) return undefined;
    if (typeof meta.prompt_id === "string") preview.promptId = meta.prompt_id;
    if (typeof meta.node_id === "string") preview.nodeId = meta.node_id;
    return preview;
  }
  return undefined;
}

function image(contentType: PreviewType, bytes: Buffer): Preview | undefined {
  if (bytes.length > MAX_PREVIEW_BYTES) return undefined;
  const magic = contentType === "image/jpeg" ? JPEG_MAGIC : PNG_MAGIC;
  if (bytes.length <= magic.length || !bytes.subarray(0, magic.length).equals(magic)) return undefined;
  // A copy: the frame's buffer may be pooled by the WebSocket library.
  return { contentType, bytes: Buffer.from(bytes) };
}

function parseMetadata(json: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
