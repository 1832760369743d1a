/** Byte encodings used for ids, keys and stored ciphertexts. */

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32, lower-case, no padding: safe in URLs, headers and file names. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

export function randomBase32(chars: number): string {
  return base32(crypto.getRandomValues(new Uint8Array(Math.ceil((chars * 5) / 8)))).slice(0, chars);
}

// Base64 and hex live with the edge ⇄ host protocol (which may not import from here).
export { fromBase64, fromBase64Url, toBase64, toBase64Url, toHex } from "../protocol/encoding.ts";
