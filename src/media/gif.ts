/**
 * GIF: the canvas is the logical screen, grown to cover every frame (decoders such as Pillow
 * enlarge the canvas to fit an image descriptor that extends past the screen, so a 1×1 screen
 * does not make a 65535×65535 frame small), and the frame count is the number of image
 * descriptors. Walks the block structure to the trailer; refuses a GIF with no frame.
 */
import { type Dimensions, u16le } from "./bytes.ts";

export const GIF_SIGNATURES = [
  [0x47, 0x49, 0x46, 0x38, 0x37, 0x61], // GIF87a
  [0x47, 0x49, 0x46, 0x38, 0x39, 0x61], // GIF89a
] as const;

/** Skips a chain of data sub-blocks starting at `i`; returns the index after the terminator. */
function skipSubBlocks(b: Uint8Array, i: number): number {
  while (i < b.length) {
    const size = b[i]!;
    i += 1 + size;
    if (size === 0) return i;
  }
  return b.length + 1; // ran off the end: truncated
}

export function readGif(b: Uint8Array): Dimensions {
  const screenWidth = u16le(b, 6);
  const screenHeight = u16le(b, 8);
  const flags = b[10];
  if (screenWidth === undefined || screenHeight === undefined || flags === undefined) {
    return { ok: false, detail: "The GIF file is truncated" };
  }
  let width = screenWidth;
  let height = screenHeight;
  let frames = 0;
  let i = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0);
  // Every branch advances i by at least one byte, so the walk is bounded by the file size.
  while (i < b.length) {
    const block = b[i]!;
    if (block === 0x3b) break; // trailer
    if (block === 0x21) {
      i = skipSubBlocks(b, i + 2); // extension: introducer, label, sub-blocks
    } else if (block === 0x2c) {
      const left = u16le(b, i + 1);
      const top = u16le(b, i + 3);
      const w = u16le(b, i + 5);
      const h = u16le(b, i + 7);
      const imageFlags = b[i + 9];
      if (left === undefined || top === undefined || w === undefined || h === undefined || imageFlags === undefined) break;
      width = Math.max(width, left + w);
      height = Math.max(height, top + h);
      frames++;
      i += 10 + (imageFlags & 0x80 ? 3 * 2 ** ((imageFlags & 7) + 1) : 0);
      i = skipSubBlocks(b, i + 1); // LZW minimum code size, then the image data
    } else {
      break; // unknown block: decoders stop here too
    }
  }
  if (frames === 0) return { ok: false, detail: "The GIF file is truncated or has no image data" };
  if (width === 0 || height === 0) return { ok: false, detail: "The GIF header has invalid dimensions" };
  return { ok: true, width, height, frames };
}
