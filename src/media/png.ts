/**
 * PNG (and APNG): dimensions from IHDR, which the spec requires to be the first chunk, and the
 * frame count from acTL when the file is animated. Walks the chunk list only as far as the first
 * IDAT, which must exist: a file that is a header and nothing else is not an image.
 */
import { ascii, type Dimensions, u32be } from "./bytes.ts";

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

const MAX_DIMENSION = 0x7fffffff; // PNG spec: 2^31 - 1

export function readPng(b: Uint8Array): Dimensions {
  if (u32be(b, 8) !== 13 || ascii(b, 12, 4) !== "IHDR" || b.length < 33) {
    return { ok: false, detail: "The PNG file has no valid IHDR header" };
  }
  const width = u32be(b, 16)!;
  const height = u32be(b, 20)!;
  if (width === 0 || height === 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
    return { ok: false, detail: "The PNG header has invalid dimensions" };
  }
  let frames = 1;
  // Each iteration advances by at least 12 bytes, so the walk is bounded by the file size.
  for (let at = 8; at + 8 <= b.length; ) {
    const length = u32be(b, at)!;
    const type = ascii(b, at + 4, 4);
    if (type === "IDAT") return { ok: true, width, height, frames };
    if (type === "IEND") break;
    if (type === "acTL" && length >= 8) frames = Math.max(1, u32be(b, at + 8) ?? 1);
    if (length > MAX_DIMENSION) break;
    at += 12 + length;
  }
  return { ok: false, detail: "The PNG file is truncated or has no image data" };
}
