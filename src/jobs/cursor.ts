/**
 * Opaque list cursors: base64url of `<created_at>.<job id>`, the keyset position of the last job
 * on the previous page. Opaque so clients pass it back unchanged and we can change it later.
 */
import { fromBase64Url, toBase64Url } from "../lib/encoding.ts";
import { looksLikeId } from "../lib/ids.ts";

export interface Position {
  createdAt: number;
  id: string;
}

export function encodeCursor(p: Position): string {
  return toBase64Url(new TextEncoder().encode(`${p.createdAt}.${p.id}`));
}

export function decodeCursor(cursor: string): Position | null {
  if (cursor.length > 128 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(cursor));
  } catch {
    return null;
  }
  const m = /^(\d{1,15})\.(job_[a-z2-7]+)$/.exec(text);
  if (!m || !looksLikeId("job", m[2]!)) return null;
  return { createdAt: Number(m[1]), id: m[2]! };
}
