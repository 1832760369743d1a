/**
 * The two ways a user hands the API an image — a URL or a data URI — each turned into checked
 * bytes ready for R2: a sniffed PNG/JPEG/GIF/WebP within the byte and pixel budgets, with its
 * SHA-256. Both return the same tagged union so a route handles them with one `switch`.
 *
 * Invariant: `ok: true` bytes were never trusted by their label: the format, dimensions and size
 * are what the bytes themselves say.
 */
import { checkImage } from "../media/check.ts";
import { decodeDataUri } from "../media/data-uri.ts";
import { sha256, toHex } from "../protocol/encoding.ts";
import { type GuardedFetchOptions, guardedFetch } from "./guarded-fetch.ts";
import type { Refusal } from "./refusal.ts";

export interface ImageLimits {
  /** Largest image in bytes (decoded). */
  maxBytes: number;
  /** Largest width × height × frames. */
  maxPixels: number;
}

export interface CheckedImage {
  ok: true;
  bytes: Uint8Array<ArrayBuffer>;
  /** From the sniffed format, never from a header or the data URI. */
  contentType: string;
  width: number;
  height: number;
  frames: number;
  /** Lower-case hex SHA-256 of `bytes`. */
  sha256: string;
}

export type ImageResult = CheckedImage | Refusal;

export type FetchImageOptions = ImageLimits & Omit<GuardedFetchOptions, "maxBytes" | "accept">;

/** Checks bytes that are already here (an upload) exactly like fetched or decoded ones. */
export async function vetImage(bytes: Uint8Array<ArrayBuffer>, limits: ImageLimits): Promise<ImageResult> {
  const image = checkImage(bytes, limits);
  if (!image.ok) return image;
  const { contentType, width, height, frames } = image;
  return { ok: true, bytes, contentType, width, height, frames, sha256: toHex(await sha256(bytes)) };
}

/** Fetches an `https:`/`http:` image URL through the SSRF guard and checks the bytes. */
export async function fetchImage(url: string, options: FetchImageOptions): Promise<ImageResult> {
  const res = await guardedFetch(url, { ...options, accept: "image/png,image/jpeg,image/webp,image/gif;q=0.9,*/*;q=0.1" });
  if (!res.ok) return res;
  return vetImage(res.bytes, options);
}

/** Decodes a base64 `data:` URI image and checks the bytes. */
export async function decodeImageDataUri(uri: string, limits: ImageLimits): Promise<ImageResult> {
  const decoded = decodeDataUri(uri, limits.maxBytes);
  if (!decoded.ok) return decoded;
  return vetImage(decoded.bytes, limits);
}
