/**
 * How a GPU host learns a new edge key without anyone re-pinning it: heartbeat replies carry the
 * edge's current public keys as a JWT (`edge_jwks`) signed by the edge's current signing key,
 * addressed to that host and short-lived. The host accepts it only if a key it already pins
 * verifies it, so trust always descends from the pin it was given (EDGE_JWKS or its bootstrap
 * answer); a host holds only public keys, never anything that lets it act as the edge.
 *
 * A replayed older update cannot roll a host back: the host keeps the `iat` of the update it
 * applied last and refuses one that is not newer.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose";
import { EDGE_ISSUER, type EdgeSigningKey, edgePrivateKey } from "./edge-signing.ts";

export const JWKS_UPDATE_TYPE = "comfyui-saas-jwks+jwt";
export const JWKS_UPDATE_TTL_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 5;
/** A host pins at most this many edge keys (the signing key, the next and the previous). */
export const MAX_PINNED_EDGE_KEYS = 8;

export async function signJwksUpdate(key: EdgeSigningKey, hostId: string, jwks: JSONWebKeySet, now = Date.now()): Promise<string> {
  const cryptoKey = await edgePrivateKey(key);
  const iat = Math.floor(now / 1000);
  return new SignJWT({ jwks: { keys: jwks.keys } })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: JWKS_UPDATE_TYPE })
    .setIssuer(EDGE_ISSUER)
    .setAudience(hostId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + JWKS_UPDATE_TTL_SECONDS)
    .sign(cryptoKey);
}

export type JwksUpdateFailure = "malformed" | "unknown_key" | "bad_signature" | "expired" | "wrong_host" | "invalid_claims" | "invalid_keys";

export type JwksUpdateVerdict = { ok: true; jwks: { keys: JWK[] }; iat: number } | { ok: false; reason: JwksUpdateFailure };

/** A public Ed25519 key with a kid, and nothing private. */
function isPublicEdKey(k: unknown): k is JWK {
  if (typeof k !== "object" || k === null) return false;
  const j = k as Record<string, unknown>;
  return j.kty === "OKP" && j.crv === "Ed25519" && typeof j.x === "string" && typeof j.kid === "string" && j.kid !== "" && j.d === undefined;
}

/** Verifies an update with the keys the host pins now; its keys are what the host pins next. */
export async function verifyJwksUpdate(pinned: JSONWebKeySet, token: string, hostId: string, now = Date.now()): Promise<JwksUpdateVerdict> {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: "malformed" };
  let payload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(pinned), {
      issuer: EDGE_ISSUER,
      audience: hostId,
      algorithms: ["EdDSA"],
      typ: JWKS_UPDATE_TYPE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: JWKS_UPDATE_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["iat", "exp", "jwks"],
      currentDate: new Date(now),
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
    if (err instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: err.claim === "aud" ? "wrong_host" : "invalid_claims" };
    if (err instanceof errors.JWKSNoMatchingKey) return { ok: false, reason: "unknown_key" };
    if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: "bad_signature" };
    return { ok: false, reason: "malformed" };
  }
  const keys = (payload.jwks as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_PINNED_EDGE_KEYS || !keys.every(isPublicEdKey)) {
    return { ok: false, reason: "invalid_keys" };
  }
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) return { ok: false, reason: "invalid_keys" };
  return { ok: true, jwks: { keys }, iat: payload.iat as number };
}
