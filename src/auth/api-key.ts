/**
 * API key format: `csk_<key id: 20 base32>_<secret: 52 base32>` (256-bit secret).
 *
 * The key id is public (it is the `key_…` id the admin API shows) and finds the row; only the
 * SHA-256 of the secret is stored, and the presented secret's hash is compared in constant time.
 * The `csk_` prefix makes leaked keys easy to find with secret scanners.
 */
import { sha256Hex } from "../lib/crypto.ts";
import { randomBase32 } from "../lib/encoding.ts";
import { ID_BODY_LENGTH } from "../lib/ids.ts";

export const API_KEY_PREFIX = "csk_";
const SECRET_LENGTH = 52;
const KEY_PATTERN = new RegExp(`^${API_KEY_PREFIX}([a-z2-7]{${ID_BODY_LENGTH}})_([a-z2-7]{${SECRET_LENGTH}})$`);

export interface MintedKey {
  id: string;
  key: string;
  secretHash: string;
}

export async function mintApiKey(): Promise<MintedKey> {
  const idBody = randomBase32(ID_BODY_LENGTH);
  const secret = randomBase32(SECRET_LENGTH);
  return { id: `key_${idBody}`, key: `${API_KEY_PREFIX}${idBody}_${secret}`, secretHash: await sha256Hex(secret) };
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

export type ParsedKey = { ok: true; id: string; secret: string } | { ok: false };

export function parseApiKey(token: string): ParsedKey {
  const m = KEY_PATTERN.exec(token);
  if (!m) return { ok: false };
  return { ok: true, id: `key_${m[1]}`, secret: m[2]! };
}
