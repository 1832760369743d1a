/**
 * Edge → host request signing: a short-lived EdDSA (Ed25519) JWT in `Authorization: Bearer`.
 *
 * Claims bind the token to one request for one host: `aud` = host id, `htm`/`htu` = method and
 * path (with query), `bsha` = base64url SHA-256 of the exact body bytes, `exp` ≤ 60 s after `iat`,
 * and a random `jti` the host remembers until `exp` (replay protection). Hosts hold only public
 * keys (a pinned JWKS), so a compromised host cannot mint commands for itself or any other host;
 * keys rotate by `kid`.
 *
 * Verification has two steps so a host can refuse a bad request before reading its body:
 * `verifyEdgeToken` (headers only) then `verifyEdgeBody` (body hash, then the replay claim);
 * `verifyEdgeRequest` runs both for a body already in hand.
 */
import { createLocalJWKSet, errors, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose";
import { sha256, toBase64Url } from "./encoding.ts";
import type { ReplayGuard } from "./replay-guard.ts";

export const EDGE_ISSUER = "comfyui-saas-edge";
export const EDGE_TOKEN_TYPE = "comfyui-saas-edge+jwt";
export const EDGE_TOKEN_TTL_SECONDS = 60;
const CLOCK_TOLERANCE_SECONDS = 5;

export interface EdgeSigningKey {
  kid: string;
  privateJwk: JWK;
}

export interface SignedRequestParts {
  hostId: string;
  method: string;
  /** Path plus query string, exactly as sent. */
  path: string;
  body: string | Uint8Array;
}

async function bodyHash(body: string | Uint8Array): Promise<string> {
  return toBase64Url(await sha256(body));
}

type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const privateKeys = new Map<string, Promise<Key>>();

/** The edge key's private half, imported once per isolate (for request tokens and JWKS updates). */
export function edgePrivateKey(key: EdgeSigningKey): Promise<Key> {
  // Cached by the public half too: two keys may share a kid (a rotation gone wrong) and must
  // never be confused.
  const cacheKey = `${key.kid}:${String(key.privateJwk.x)}`;
  let cryptoKey = privateKeys.get(cacheKey);
  if (!cryptoKey) {
    cryptoKey = importJWK(key.privateJwk, "EdDSA") as Promise<Key>;
    privateKeys.set(cacheKey, cryptoKey);
  }
  return cryptoKey;
}

export async function signEdgeRequest(key: EdgeSigningKey, req: SignedRequestParts, now = Date.now()): Promise<string> {
  const cryptoKey = await edgePrivateKey(key);
  const iat = Math.floor(now / 1000);
  return new SignJWT({ htm: req.method.toUpperCase(), htu: req.path, bsha: await bodyHash(req.body) })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: EDGE_TOKEN_TYPE })
    .setIssuer(EDGE_ISSUER)
    .setAudience(req.hostId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + EDGE_TOKEN_TTL_SECONDS)
    .setJti(crypto.randomUUID())
    .sign(cryptoKey);
}

export type EdgeFailure =
  | "missing"
  | "malformed"
  | "bad_signature"
  | "expired"
  | "wrong_host"
  | "wrong_request"
  | "body_mismatch"
  | "replayed"
  | "invalid_claims";

export type EdgeVerdict = { ok: true; jti: string } | { ok: false; reason: EdgeFailure };

/** A token whose signature, issuer, host, method, path and lifetime checked out; its body is not yet known. */
export interface VerifiedEdgeToken {
  jti: string;
  /** Expiry (epoch seconds). */
  exp: number;
  /** base64url SHA-256 the body must have. */
  bsha: string;
}

export type EdgeTokenVerdict = { ok: true; token: VerifiedEdgeToken } | { ok: false; reason: EdgeFailure };

const keySets = new WeakMap<JSONWebKeySet, ReturnType<typeof createLocalJWKSet>>();

/**
 * The verifier of a pinned JWKS, made once per JWKS object: jose imports each key on first use and
 * keeps it, so only the first request after a key change pays for the import (about 1 ms a
 * request otherwise). Keyed by identity: a new key set is a new object (hosts replace theirs).
 */
function keySetOf(jwks: JSONWebKeySet): ReturnType<typeof createLocalJWKSet> {
  let set = keySets.get(jwks);
  if (!set) {
    set = createLocalJWKSet(jwks);
    keySets.set(jwks, set);
  }
  return set;
}

/**
 * Step 1 of verifying a request, from its headers alone: signature, issuer, host, method, path and
 * lifetime. A host runs it before reading the body, so an unsigned or mis-addressed request never
 * makes it buffer megabytes.
 */
export async function verifyEdgeToken(
  jwks: JSONWebKeySet,
  authorization: string | undefined,
  req: Omit<SignedRequestParts, "body">,
  now = Date.now(),
): Promise<EdgeTokenVerdict> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? "");
  if (!authorization) return { ok: false, reason: "missing" };
  if (!m) return { ok: false, reason: "malformed" };
  let payload;
  try {
    ({ payload } = await jwtVerify(m[1]!, keySetOf(jwks), {
      issuer: EDGE_ISSUER,
      audience: req.hostId,
      algorithms: ["EdDSA"],
      typ: EDGE_TOKEN_TYPE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: EDGE_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["iat", "exp", "jti", "htm", "htu", "bsha"],
      currentDate: new Date(now),
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
    if (err instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: err.claim === "aud" ? "wrong_host" : "invalid_claims" };
    if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return { ok: false, reason: "bad_signature" };
    return { ok: false, reason: "malformed" };
  }
  if (typeof payload.exp !== "number" || typeof payload.iat !== "number" || payload.exp - payload.iat > EDGE_TOKEN_TTL_SECONDS) {
    return { ok: false, reason: "invalid_claims" };
  }
  if (payload.htm !== req.method.toUpperCase() || payload.htu !== req.path) return { ok: false, reason: "wrong_request" };
  if (typeof payload.bsha !== "string" || typeof payload.jti !== "string") return { ok: false, reason: "invalid_claims" };
  return { ok: true, token: { jti: payload.jti, exp: payload.exp, bsha: payload.bsha } };
}

/**
 * Step 2, once the (bounded) body is read: the body hash, then the replay guard. The token id is
 * claimed only by a request that carries the exact signed body: someone who saw a token cannot
 * burn it with a garbage body and so make the edge's real request fail as a replay. The price is
 * that a holder of a valid token (bound to this host, method and path, at most ~65 s) can make
 * the host read up to its body cap more than once — never act twice.
 */
export async function verifyEdgeBody(token: VerifiedEdgeToken, body: string | Uint8Array, replay: ReplayGuard, now = Date.now()): Promise<EdgeVerdict> {
  if (token.bsha !== (await bodyHash(body))) return { ok: false, reason: "body_mismatch" };
  if (!replay.claim(token.jti, (token.exp + CLOCK_TOLERANCE_SECONDS) * 1000, now)) return { ok: false, reason: "replayed" };
  return { ok: true, jti: token.jti };
}

/**
 * Both steps at once, for a request whose body is already in hand. The replay guard is claimed
 * last, so a forged or mis-addressed token never fills it.
 */
export async function verifyEdgeRequest(
  jwks: JSONWebKeySet,
  authorization: string | undefined,
  req: SignedRequestParts,
  replay: ReplayGuard,
  now = Date.now(),
): Promise<EdgeVerdict> {
  const verdict = await verifyEdgeToken(jwks, authorization, req, now);
  if (!verdict.ok) return verdict;
  return verifyEdgeBody(verdict.token, req.body, replay, now);
}

/** A fresh Ed25519 signing key and the public JWKS hosts pin (for setup scripts and tests). */
export async function generateEdgeSigningKey(kid = `edge-${new Date().toISOString().slice(0, 10)}-${crypto.randomUUID().slice(0, 8)}`) {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: "EdDSA" };
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  return { key: { kid, privateJwk } satisfies EdgeSigningKey, jwks: { keys: [publicJwk] } satisfies JSONWebKeySet };
}

/** The public half of a private OKP JWK (drops `d`). */
export function publicJwkOf(privateJwk: JWK): JWK {
  const { d: _d, ...rest } = privateJwk;
  return { ...rest, use: "sig" };
}
