/**
 * Small WebCrypto helpers: hashing, constant-time comparison and authenticated encryption of
 * secrets at rest. Comparisons of secrets go through `constantTimeEqual` only.
 */
import { sha256 } from "../protocol/encoding.ts";
import { fromBase64, toBase64, toHex } from "./encoding.ts";

export { sha256 };

const encoder = new TextEncoder();

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return toHex(await sha256(data));
}

/**
 * Constant-time equality of two secrets of any length: both sides are hashed first so the
 * comparison always runs over 32 bytes and the length of the expected secret does not leak.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256(a), sha256(b)]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/** Constant-time comparison of two equal-length digests (hex strings of the same hash). */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return crypto.subtle.timingSafeEqual(encoder.encode(a), encoder.encode(b));
}

async function aesKey(keyBase64: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", fromBase64(keyBase64), "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** AES-256-GCM; output is base64 of iv (12 bytes) followed by ciphertext and tag. */
export async function encryptSecret(plaintext: string, keyBase64: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await aesKey(keyBase64), encoder.encode(plaintext)));
  const out = new Uint8Array(iv.length + ct.length);
  out.set(iv);
  out.set(ct, iv.length);
  return toBase64(out);
}

export async function decryptSecret(stored: string, keyBase64: string): Promise<string> {
  const bytes = fromBase64(stored);
  const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, await aesKey(keyBase64), bytes.slice(12));
  return new TextDecoder().decode(pt);
}
