/**
 * Decodes a `data:` URI image input (`data:image/png;base64,…`) to bytes. Only base64 is accepted
 * (percent-encoded binary is error-prone and nobody sends images that way); the declared media
 * type is ignored, since the bytes are sniffed afterwards like any other input. The decoded size
 * is computed from the base64 length and checked before decoding, so an oversized URI costs no
 * allocation beyond the string the request already holds.
 */
import { fromBase64 } from "../protocol/encoding.ts";

export type DataUriResult =
  | { ok: true; bytes: Uint8Array<ArrayBuffer>; declaredType: string }
  | { ok: false; reason: "bad-data-uri" | "too-large"; detail: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const EXAMPLE = "use the form data:image/png;base64,<base64 bytes>";

export function decodeDataUri(uri: string, maxBytes: number): DataUriResult {
  const bad = (why: string): DataUriResult => ({ ok: false, reason: "bad-data-uri", detail: `The data URI ${why}; ${EXAMPLE}.` });
  if (!/^data:/i.test(uri)) return bad("does not start with data:");
  const comma = uri.indexOf(",");
  if (comma === -1) return bad("has no comma before its data");
  const meta = uri.slice(5, comma).trim().toLowerCase();
  const params = meta.split(";").map((p) => p.trim());
  if (params.at(-1) !== "base64") return bad("is not base64-encoded");
  const declaredType = params.length > 1 && params[0] !== "" ? params[0]! : "text/plain";
  // Whitespace is allowed inside base64 (line-wrapped encoders), nothing else is.
  const data = uri.slice(comma + 1).replace(/[\t\n\f\r ]+/g, "");
  if (!BASE64.test(data) || data.length % 4 === 1) return bad("has characters or padding that are not valid base64");
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  const size = Math.floor((data.length * 3) / 4) - padding;
  if (size > maxBytes) {
    return { ok: false, reason: "too-large", detail: `The data URI holds ${size} bytes, more than the ${maxBytes}-byte limit; send a smaller image.` };
  }
  if (size === 0) return bad("is empty");
  return { ok: true, bytes: fromBase64(data), declaredType };
}
