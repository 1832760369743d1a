/**
 * JPEG: dimensions from the first start-of-frame segment (SOF0–SOF15 except DHT, JPG and DAC),
 * found by walking the marker segments from SOI. Stops at SOS or EOI: a JPEG whose frame header
 * does not come before its scan data (or declares a height of 0, deferring it to a DNL marker)
 * is refused rather than decoded further.
 */
import { type Dimensions, u16be } from "./bytes.ts";

export const JPEG_SIGNATURE = [0xff, 0xd8, 0xff] as const;

function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

export function readJpeg(b: Uint8Array): Dimensions {
  // Each iteration advances by at least one byte, so the walk is bounded by the file size.
  for (let i = 2; i < b.length; ) {
    if (b[i] !== 0xff) return { ok: false, detail: "The JPEG file is corrupt (bad marker)" };
    while (i < b.length && b[i] === 0xff) i++; // fill bytes
    const marker = b[i++];
    if (marker === undefined) break;
    // Markers without a length field.
    if (marker === 0x01 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) break;
    const length = u16be(b, i);
    if (length === undefined || length < 2) break;
    if (isStartOfFrame(marker)) {
      const height = u16be(b, i + 3);
      const width = u16be(b, i + 5);
      if (width === undefined || height === undefined) break;
      if (width === 0 || height === 0) return { ok: false, detail: "The JPEG header has invalid dimensions" };
      return { ok: true, width, height, frames: 1 };
    }
    i += length;
  }
  return { ok: false, detail: "The JPEG file is truncated or has no frame header" };
}
