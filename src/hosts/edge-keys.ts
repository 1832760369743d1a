/**
 * The edge's Ed25519 keys as hosts see them: EDGE_SIGNING_KEY signs (the Dispatcher's requests,
 * JWKS updates), and the JWKS hosts pin holds its public half plus EDGE_PUBLISHED_KEYS — the next
 * key before a rollover, the previous one after it — so at every step of a rollover each host
 * already pins whatever key the edge signs with (docs/RUNBOOK.md: rolling over EDGE_SIGNING_KEY).
 * Only public halves ever leave the edge.
 */
import type { JWK } from "jose";
import type { Config } from "../config/schema.ts";
import { type EdgeSigningKey, publicJwkOf } from "../protocol/edge-signing.ts";
import { MAX_PINNED_EDGE_KEYS } from "../protocol/jwks-update.ts";

export type Jwks = { keys: Record<string, unknown>[] };

function parsePublished(value: string): { keys: Record<string, unknown>[] } | string {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return 'must be JSON: a JWKS {"keys": [...]} of public Ed25519 keys (npm run keys:edge prints one)';
  }
  const keys = Array.isArray(json) ? json : (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return 'must be a JWKS {"keys": [...]} of public Ed25519 keys';
  return { keys: keys as Record<string, unknown>[] };
}

/** What is wrong with an EDGE_PUBLISHED_KEYS value (completes "EDGE_PUBLISHED_KEYS …"), or null. */
export function publishedKeysProblem(value: string): string | null {
  const parsed = parsePublished(value);
  if (typeof parsed === "string") return parsed;
  if (parsed.keys.length > MAX_PINNED_EDGE_KEYS - 1) return `holds more than ${MAX_PINNED_EDGE_KEYS - 1} keys; publish only the next and the previous key`;
  const kids = new Set<string>();
  for (const [i, k] of parsed.keys.entries()) {
    if (typeof k !== "object" || k === null) return `key ${i + 1} is not a JWK object`;
    if (k.d !== undefined) return `key ${i + 1} holds a private key (d); publish only its public half (drop "d")`;
    if (k.kty !== "OKP" || k.crv !== "Ed25519" || typeof k.x !== "string") return `key ${i + 1} is not an Ed25519 public JWK (kty OKP, crv Ed25519, x)`;
    if (typeof k.kid !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(k.kid)) return `key ${i + 1} needs a kid (1-64 of A-Z, a-z, 0-9, ., _ and -)`;
    if (kids.has(k.kid)) return `lists kid ${k.kid} twice`;
    kids.add(k.kid);
  }
  return null;
}

export function signingKey(config: Pick<Config, "EDGE_SIGNING_KEY">): EdgeSigningKey {
  const jwk = JSON.parse(config.EDGE_SIGNING_KEY) as JWK & { kid: string };
  return { kid: jwk.kid, privateJwk: jwk };
}

function publishedKeys(config: Pick<Config, "EDGE_PUBLISHED_KEYS">): Record<string, unknown>[] {
  if (!config.EDGE_PUBLISHED_KEYS) return [];
  const parsed = parsePublished(config.EDGE_PUBLISHED_KEYS);
  return typeof parsed === "string" ? [] : parsed.keys;
}

/** A published key that shares the signing key's kid but not its key: the config is refused. */
export function edgeKeysProblem(config: Pick<Config, "EDGE_SIGNING_KEY" | "EDGE_PUBLISHED_KEYS">): string | null {
  const current = signingKey(config);
  const clash = publishedKeys(config).find((k) => k.kid === current.kid && k.x !== current.privateJwk.x);
  return clash ? `EDGE_PUBLISHED_KEYS lists kid ${current.kid}, the kid of EDGE_SIGNING_KEY, with another key; give every key its own kid` : null;
}

/** The JWKS hosts pin: the signing key's public half first, then the published ones. */
export function edgeJwks(config: Pick<Config, "EDGE_SIGNING_KEY" | "EDGE_PUBLISHED_KEYS">): Jwks {
  const current = signingKey(config);
  const keys: Record<string, unknown>[] = [publicJwkOf(current.privateJwk) as Record<string, unknown>];
  for (const k of publishedKeys(config)) {
    if (k.kid === current.kid) continue;
    keys.push({ ...k, alg: "EdDSA", use: "sig" });
  }
  return { keys };
}

/** Whether a host that reports pinning `kids` pins exactly the published set (nothing to send). */
export function pinsCurrentSet(jwks: Jwks, kids: readonly string[]): boolean {
  const want = new Set(jwks.keys.map((k) => String(k.kid)));
  return kids.length === want.size && kids.every((k) => want.has(k));
}
