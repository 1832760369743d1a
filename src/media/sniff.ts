/**
 * Which image format the bytes are, decided by magic bytes alone (WHATWG MIME Sniffing's image
 * patterns): PNG, JPEG, GIF, WebP. `Content-Type` is never consulted — it is whatever the remote
 * server or the data URI claims. Known formats ComfyUI's loader could read but we do not accept
 * (AVIF, HEIC, BMP, TIFF…) get a specific "not supported" sentence instead of a generic one.
 */
import { type Dimensions, startsWith } from "./bytes.ts";
import { GIF_SIGNATURES, readGif } from "./gif.ts";
import { JPEG_SIGNATURE, readJpeg } from "./jpeg.ts";
import { detectMarkup } from "./markup.ts";
import { PNG_SIGNATURE, readPng } from "./png.ts";
import { isWebp, readWebp } from "./webp.ts";

export type ImageFormat = "png" | "jpeg" | "gif" | "webp";

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
};

export type Sniffed = { kind: "image"; format: ImageFormat; read: Dimensions } | { kind: "svg" } | { kind: "other"; what: string | null };

/** The raster format named by the file's signature alone (no header is read). */
export function imageFormatOf(b: Uint8Array): ImageFormat | null {
  if (startsWith(b, PNG_SIGNATURE)) return "png";
  if (startsWith(b, JPEG_SIGNATURE)) return "jpeg";
  if (GIF_SIGNATURES.some((s) => startsWith(b, s))) return "gif";
  if (isWebp(b)) return "webp";
  return null;
}

const READERS: Record<ImageFormat, (b: Uint8Array) => Dimensions> = {
  png: readPng,
  jpeg: readJpeg,
  gif: readGif,
  webp: readWebp,
};

/** Names of formats we recognise only to say they are unsupported. */
function otherFormat(b: Uint8Array): string | null {
  const text = String.fromCharCode(...b.subarray(0, 16));
  if (text.slice(4, 8) === "ftyp") {
    const brand = text.slice(8, 12);
    if (brand === "avif" || brand === "avis") return "AVIF";
    if (/^(?:heic|heix|hevc|mif1|msf1)$/.test(brand)) return "HEIC";
    return "an MP4/ISO media file";
  }
  if (text.startsWith("BM")) return "BMP";
  if (text.startsWith("II*\0") || text.startsWith("MM\0*")) return "TIFF";
  if (text.startsWith("\0\0\x01\0")) return "ICO";
  if (text.startsWith("%PDF")) return "PDF";
  if (text.startsWith("\x1f\x8b")) return "gzip-compressed";
  if (text.startsWith("\xff\x0a") || text.startsWith("\0\0\0\x0cJXL ")) return "JPEG XL";
  if (text.startsWith("RIFF")) return "a RIFF file that is not WebP";
  const markup = detectMarkup(b);
  if (markup === "html") return "HTML";
  if (markup === "xml") return "XML";
  return null;
}

export function sniffImage(b: Uint8Array): Sniffed {
  const format = imageFormatOf(b);
  if (format) return { kind: "image", format, read: READERS[format](b) };
  if (detectMarkup(b) === "svg") return { kind: "svg" };
  return { kind: "other", what: otherFormat(b) };
}
