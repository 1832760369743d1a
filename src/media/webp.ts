/**
 * WebP: dimensions from the first chunk — `VP8 ` (lossy: the key frame header after the 9d 01 2a
 * start code), `VP8L` (lossless: 14-bit width-1 and height-1 after the 0x2f signature) or `VP8X`
 * (extended: 24-bit canvas width-1 and height-1) — and, for an animated VP8X file, the number of
 * ANMF frame chunks.
 */
import { ascii, type Dimensions, u16le, u24le, u32le } from "./bytes.ts";

/** "RIFF" ???? "WEBP" "VP": the WHATWG MIME Sniffing image pattern. */
export function isWebp(b: Uint8Array): boolean {
  return ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 6) === "WEBPVP";
}

const ANIMATION_FLAG = 0x02;

function countFrames(b: Uint8Array): number {
  let frames = 0;
  // Each chunk advances by at least 8 bytes, so the walk is bounded by the file size.
  for (let at = 12; at + 8 <= b.length; ) {
    const size = u32le(b, at + 4)!;
    if (ascii(b, at, 4) === "ANMF") frames++;
    at += 8 + size + (size & 1); // chunks are padded to an even size
  }
  return frames;
}

export function readWebp(b: Uint8Array): Dimensions {
  const chunk = ascii(b, 12, 4);
  const truncated = { ok: false, detail: "The WebP file is truncated" } as const;
  let width: number | undefined;
  let height: number | undefined;
  let frames = 1;
  if (chunk === "VP8 ") {
    if (b.length < 30) return truncated;
    if (!(b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a)) {
      return { ok: false, detail: "The WebP file has no valid VP8 frame header" };
    }
    width = u16le(b, 26)! & 0x3fff; // the top two bits are a scale, not part of the size
    height = u16le(b, 28)! & 0x3fff;
  } else if (chunk === "VP8L") {
    const bits = u32le(b, 21);
    if (b[20] !== 0x2f || bits === undefined) return { ok: false, detail: "The WebP file has no valid VP8L header" };
    width = (bits & 0x3fff) + 1;
    height = ((bits >>> 14) & 0x3fff) + 1;
  } else if (chunk === "VP8X") {
    const flags = b[20];
    const w = u24le(b, 24);
    const h = u24le(b, 27);
    if (flags === undefined || w === undefined || h === undefined) return truncated;
    width = w + 1;
    height = h + 1;
    if (flags & ANIMATION_FLAG) frames = Math.max(1, countFrames(b));
  } else {
    return { ok: false, detail: "The WebP file has an unknown first chunk" };
  }
  if (width === 0 || height === 0) return { ok: false, detail: "The WebP header has invalid dimensions" };
  return { ok: true, width, height, frames };
}
