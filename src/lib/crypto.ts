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

// ===== Secrets at rest (DATA_ENCRYPTION_KEYS)
//
// Stored form: `v1.<key id>.<base64 of iv (12 bytes) ‖ ciphertext ‖ tag>`, AES-256-GCM. The key id
// says which listed key decrypts it (docs/key-rotation.md), and the associated data names the row
// and column it belongs to (`webhook_secrets:<id>`, `gpu_hosts:<id>:current`, …), so a ciphertext
// copied into another row, or into the other column of its row, fails to decrypt rather than
// handing out the wrong secret. Values without a key id (before key ids existed) are not read.

const VERSION = "v1";
const STORED_RE = /^v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9+/]+={0,2})$/;

type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const aesKeys = new Map<string, Promise<AesKey>>();

function aesKey(keyBase64: string): Promise<AesKey> {
  let key = aesKeys.get(keyBase64);
  if (!key) {
    key = crypto.subtle.importKey("raw", fromBase64(keyBase64), "AES-GCM", false, ["encrypt", "decrypt"]);
    aesKeys.set(keyBase64, key);
  }
  return key;
}

/** A data key with its id (src/lib/key-list.ts); the first of a list is the one that encrypts. */
export interface DataKey {
  kid: string;
  secret: string;
}

/** Why a stored secret could not be read: the tagged outcome the callers log. */
export type DecryptFailure = "malformed" | "unknown_key" | "mismatch";

export class UndecryptableSecret extends Error {
  readonly reason: DecryptFailure;
  readonly kid: string | null;

  constructor(reason: DecryptFailure, kid: string | null) {
    super(`stored secret not readable: ${reason}${kid ? ` (key ${kid})` : ""}`);
    this.name = "UndecryptableSecret";
    this.reason = reason;
    this.kid = kid;
  }
}

/** The key id a stored value names, or null when it is not in the current format. */
export function storedKeyId(stored: string): string | null {
  return STORED_RE.exec(stored)?.[1] ?? null;
}

/** Encrypts under `keys[0]` (the newest), bound to `context` (the row and column it is stored in). */
export async function encryptSecret(plaintext: string, keys: readonly DataKey[], context: string): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error("no data encryption key");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const params = { name: "AES-GCM", iv, additionalData: encoder.encode(context) };
  const ct = new Uint8Array(await crypto.subtle.encrypt(params, await aesKey(key.secret), encoder.encode(plaintext)));
  const out = new Uint8Array(iv.length + ct.length);
  out.set(iv);
  out.set(ct, iv.length);
  return `${VERSION}.${key.kid}.${toBase64(out)}`;
}

/** Decrypts with the listed key the value names; throws UndecryptableSecret otherwise. */
export async function decryptSecret(stored: string, keys: readonly DataKey[], context: string): Promise<string> {
  const m = STORED_RE.exec(stored);
  if (!m) throw new UndecryptableSecret("malformed", null);
  const kid = m[1]!;
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw new UndecryptableSecret("unknown_key", kid);
  const bytes = fromBase64(m[2]!);
  if (bytes.length < 12 + 16) throw new UndecryptableSecret("malformed", kid);
  try {
    const params = { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: encoder.encode(context) };
    const pt = await crypto.subtle.decrypt(params, await aesKey(key.secret), bytes.slice(12));
    return new TextDecoder().decode(pt);
  } catch {
    // Wrong row (associated data), tampered bytes, or another key under the same id.
    throw new UndecryptableSecret("mismatch", kid);
  }
}
