/**
 * The image check every user-supplied image passes before it is stored: sniffed format (never the
 * declared type), dimensions read from the headers, and a pixel budget. The budget counts every
 * frame a decoder will produce (width × height × frames), since ComfyUI's loader decodes all
 * frames of an animated GIF/WebP/APNG: a pixel bomb can be one huge frame or many small ones.
 *
 * Invariant: `ok: true` only for PNG, JPEG, GIF or WebP with readable, non-zero dimensions within
 * the budget; everything else is a refusal with a sentence the user can act on.
 */
import { CONTENT_TYPES, type ImageFormat, sniffImage } from "./sniff.ts";

export const MEDIA_REFUSAL_REASONS = ["not-an-image", "svg", "too-many-pixels", "bad-data-uri", "too-large"] as const;
export type MediaRefusalReason = (typeof MEDIA_REFUSAL_REASONS)[number];

export interface ImageCheckOptions {
  /** Largest width × height × frames accepted. */
  maxPixels: number;
}

export type ImageCheck =
  | { ok: true; format: ImageFormat; contentType: string; width: number; height: number; frames: number }
  | { ok: false; reason: "not-an-image" | "svg" | "too-many-pixels"; detail: string };

const SUPPORTED = "send a PNG, JPEG, WebP or GIF image";

function megapixels(n: number): string {
  return n >= 1_000_000 ? `${Math.round(n / 100_000) / 10} megapixels` : `${n} pixels`;
}

export function checkImage(bytes: Uint8Array, options: ImageCheckOptions): ImageCheck {
  const sniffed = sniffImage(bytes);
  switch (sniffed.kind) {
    case "svg":
      return { ok: false, reason: "svg", detail: `The file is an SVG image, which is not accepted because it can carry scripts and links; ${SUPPORTED}.` };
    case "other":
      return {
        ok: false,
        reason: "not-an-image",
        detail: sniffed.what
          ? `The file is ${sniffed.what}, which is not a supported image format; ${SUPPORTED}.`
          : `The file is not a recognised image; ${SUPPORTED}.`,
      };
    case "image": {
      const { read, format } = sniffed;
      if (!read.ok) return { ok: false, reason: "not-an-image", detail: `${read.detail}; ${SUPPORTED}.` };
      const { width, height, frames } = read;
      const pixels = width * height * frames;
      if (pixels > options.maxPixels) {
        const size = frames > 1 ? `${frames} frames of ${width}×${height}` : `${width}×${height}`;
        return {
          ok: false,
          reason: "too-many-pixels",
          detail: `The image is ${size} (${megapixels(pixels)}), more than the ${megapixels(options.maxPixels)} limit; send a smaller image.`,
        };
      }
      return { ok: true, format, contentType: CONTENT_TYPES[format], width, height, frames };
    }
  }
}
