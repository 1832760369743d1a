/**
 * Opaque list cursors: base64url of `<created_at>.<id>`, the keyset position of the last row on the
 * previous page (lists are ordered by created_at desc, id desc). Opaque so clients pass it back
 * unchanged and we can change it later. Decoding checks the id's type prefix, so a jobs cursor is
 * no tenants cursor: each list takes only its own.
 */
import { fromBase64Url, toBase64Url } from "./encoding.ts";
import { type IdPrefix, looksLikeId } from "./ids.ts";

export interface Position {
  createdAt: number;
  id: string;
}

/** Longest cursor any list accepts (a position encodes to well under this). */
export const MAX_CURSOR_LENGTH = 128;

export function encodeCursor(p: Position): string {
  return toBase64Url(new TextEncoder().encode(`${p.createdAt}.${p.id}`));
}

/** The position in `cursor`, or null when it is not a cursor this API made for ids of `prefix`. */
export function decodeCursor(cursor: string, prefix: IdPrefix): Position | null {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(cursor));
  } catch {
    return null;
  }
  const m = /^(\d{1,15})\.([a-z]+_[a-z2-7]+)$/.exec(text);
  if (!m || !looksLikeId(prefix, m[2]!)) return null;
  return { createdAt: Number(m[1]), id: m[2]! };
}
