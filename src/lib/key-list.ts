/**
 * Symmetric key lists with key ids, as DATA_ENCRYPTION_KEYS and OUTPUT_URL_KEYS hold them:
 * `k2:<base64 of 32 bytes>,k1:<base64 of 32 bytes>`, newest first. The newest key is the only one
 * that encrypts or signs; every listed key decrypts or verifies, so a rotation is "add the new key
 * in front, wait until nothing needs the old one, drop it" and never a moment where a stored value
 * or a link in flight stops working. Ids are what ciphertexts and signed URLs carry, so they must
 * be unique, short and URL-safe.
 */
import { fromBase64 } from "./encoding.ts";

export const KEY_ID_RE = /^[A-Za-z0-9_-]{1,32}$/;

export interface ListedKey {
  kid: string;
  /** The key itself, base64 (32 bytes). */
  secret: string;
}

export type KeyListResult = { ok: true; keys: ListedKey[] } | { ok: false; problem: string };

export const KEY_LIST_FORMAT = "a comma-separated list of <key id>:<base64 of 32 random bytes>, newest first (e.g. k2:…,k1:…; a key: openssl rand -base64 32)";

const cache = new Map<string, KeyListResult>();

/** Parses (and remembers) a key list; `problem` completes "<SETTING> …" for the config report. */
export function parseKeyList(value: string): KeyListResult {
  let hit = cache.get(value);
  if (!hit) {
    hit = parse(value);
    cache.set(value, hit);
  }
  return hit;
}

function parse(value: string): KeyListResult {
  const entries = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (entries.length === 0) return { ok: false, problem: `must be ${KEY_LIST_FORMAT}` };
  if (entries.length > 8)
    return { ok: false, problem: "lists more than 8 keys; drop the old ones nothing is under any more (GET /v1/admin/encryption says which)" };
  const keys: ListedKey[] = [];
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(":");
    if (colon < 0) return { ok: false, problem: `entry ${i + 1} has no key id: must be ${KEY_LIST_FORMAT}` };
    const kid = entry.slice(0, colon);
    const secret = entry.slice(colon + 1);
    if (!KEY_ID_RE.test(kid)) return { ok: false, problem: `entry ${i + 1}: the key id must be 1-32 of A-Z, a-z, 0-9, _ and -` };
    let bytes = 0;
    try {
      bytes = fromBase64(secret).length;
    } catch {
      bytes = -1;
    }
    if (bytes !== 32) return { ok: false, problem: `key ${kid} must be the base64 encoding of exactly 32 random bytes (openssl rand -base64 32)` };
    if (keys.some((k) => k.kid === kid)) return { ok: false, problem: `lists key id ${kid} twice; give each key its own id` };
    keys.push({ kid, secret });
  }
  return { ok: true, keys };
}

/** The keys of a list the config schema already accepted (so it cannot fail here). */
export function keysOf(value: string): ListedKey[] {
  const parsed = parseKeyList(value);
  if (!parsed.ok) throw new Error(`invalid key list: ${parsed.problem}`);
  return parsed.keys;
}
