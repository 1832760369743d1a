/**
 * Verifies an end-user JWT against the issuer its tenant configured (jose).
 *
 * Only asymmetric algorithms are accepted: a tenant hands us a public key or a JWKS URL, never a
 * shared secret we would have to store, and `none` can never be configured. The tenant is found by
 * the token's `iss` (unique across tenants); nothing in the token is trusted before the signature,
 * `iss`, `aud`, `exp` and the algorithm allow-list all check out. Outcomes are a tagged union: the
 * caller maps them to 401 (or 503 when the issuer's JWKS endpoint is down).
 */
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  importJWK,
  importSPKI,
  type CryptoKey as JoseKey,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
} from "jose";
import { z } from "zod";

export const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const;
export const DEFAULT_JWT_ALGORITHMS = ["RS256", "ES256", "EdDSA"];

export interface TenantJwtConfig {
  tenantId: string;
  issuer: string;
  audience: string;
  jwksUrl: string | null;
  publicKey: string | null;
  algorithms: string[];
}

export type JwtOutcome =
  | { ok: true; sub: string }
  | {
      ok: false;
      reason: "expired" | "claim_invalid" | "bad_signature" | "alg_not_allowed" | "no_matching_key" | "malformed" | "jwks_unavailable";
      detail: string;
    };

type VerifyKey = JoseKey | KeyObject | JWK | Uint8Array;

/** Largest JWKS document read from a tenant's issuer. */
export const MAX_JWKS_BYTES = 64 * 1024;
const JWKS_TIMEOUT_MS = 5_000;

/**
 * Fetches a tenant's JWKS URL. The URL is the tenant's to choose, so it goes through the same
 * outbound guard as user URLs (public addresses only, redirects re-checked, time and size caps);
 * symmetric (`oct`) keys in the set are dropped, so only asymmetric keys ever verify a token.
 */
export type JwksFetch = (url: string, signal: AbortSignal) => Promise<{ ok: true; bytes: Uint8Array } | { ok: false; detail: string }>;

// Per-isolate caches: a remote key set refetches on its own schedule (and on an unknown `kid`),
// imported static keys never change for a given (tenant, key, alg).
const remoteSets = new Map<string, JWTVerifyGetKey>();
const staticKeys = new Map<string, Promise<VerifyKey>>();

function remoteSet(url: string, fetchJwks: JwksFetch): JWTVerifyGetKey {
  let set = remoteSets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), {
      timeoutDuration: JWKS_TIMEOUT_MS,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
      [customFetch]: async (href, options) => {
        const got = await fetchJwks(href, options.signal);
        if (!got.ok) throw new errors.JWKSInvalid(`JWKS fetch refused: ${got.detail}`);
        let jwks: { keys?: unknown };
        try {
          jwks = JSON.parse(new TextDecoder().decode(got.bytes)) as { keys?: unknown };
        } catch {
          throw new errors.JWKSInvalid("JWKS is not JSON");
        }
        const keys = Array.isArray(jwks.keys) ? jwks.keys.filter((k) => typeof k === "object" && k !== null && (k as { kty?: unknown }).kty !== "oct") : [];
        return new Response(JSON.stringify({ keys }), { status: 200, headers: { "Content-Type": "application/json" } });
      },
    });
    remoteSets.set(url, set);
  }
  return set;
}

function staticKey(publicKey: string, alg: string): Promise<VerifyKey> {
  const cacheKey = `${alg}\n${publicKey}`;
  let key = staticKeys.get(cacheKey);
  if (!key) {
    key = publicKey.trimStart().startsWith("-----BEGIN") ? importSPKI(publicKey, alg) : importJWK(JSON.parse(publicKey) as JWK, alg);
    // A key that fails to import must not poison the cache for a later, fixed configuration.
    key.catch(() => staticKeys.delete(cacheKey));
    staticKeys.set(cacheKey, key);
  }
  return key;
}

export async function verifyTenantJwt(token: string, cfg: TenantJwtConfig, clockToleranceSeconds: number, fetchJwks: JwksFetch): Promise<JwtOutcome> {
  const getKey: JWTVerifyGetKey = cfg.jwksUrl ? remoteSet(cfg.jwksUrl, fetchJwks) : async (header) => staticKey(cfg.publicKey ?? "", header.alg ?? "");
  try {
    const { payload } = await jwtVerify(token, getKey, {
      issuer: cfg.issuer,
      audience: cfg.audience,
      algorithms: cfg.algorithms,
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ["exp", "sub"],
    });
    return { ok: true, sub: String(payload.sub) };
  } catch (err) {
    return classify(err);
  }
}

function classify(err: unknown): Extract<JwtOutcome, { ok: false }> {
  if (err instanceof errors.JWTExpired) return { ok: false, reason: "expired", detail: "The token has expired." };
  if (err instanceof errors.JWTClaimValidationFailed)
    return { ok: false, reason: "claim_invalid", detail: `The token's "${err.claim}" claim is not valid: ${err.reason}.` };
  if (err instanceof errors.JOSEAlgNotAllowed)
    return { ok: false, reason: "alg_not_allowed", detail: "The token's signing algorithm is not one this tenant allows." };
  if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: "bad_signature", detail: "The token's signature does not verify." };
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return { ok: false, reason: "no_matching_key", detail: "No key of the tenant's issuer matches the token's key id." };
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || (err instanceof TypeError && /fetch/i.test(err.message)))
    return { ok: false, reason: "jwks_unavailable", detail: "The tenant's JWKS endpoint could not be read." };
  if (err instanceof errors.JOSEError && err.code === "ERR_JOSE_GENERIC" && /fetch|JWKS|JSON Web Key Set/i.test(err.message))
    return { ok: false, reason: "jwks_unavailable", detail: "The tenant's JWKS endpoint could not be read." };
  return { ok: false, reason: "malformed", detail: "The token is not a valid JWT for this tenant." };
}

/** Schema of the `jwt` block tenants configure through the admin API. */
export const tenantJwtInput = z
  .object({
    issuer: z.string().min(1).max(512).describe("Expected `iss`; unique across tenants."),
    audience: z.string().min(1).max(512).describe("Expected `aud`."),
    jwks_url: z.url().max(2048).optional().describe("JWKS endpoint of the issuer (https)."),
    public_key: z
      .union([z.string().min(1).max(8192), z.record(z.string(), z.unknown())])
      .optional()
      .describe("A public key instead of a JWKS URL: a PEM SPKI string or a JWK object."),
    algorithms: z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .max(JWT_ALGORITHMS.length)
      .optional()
      .describe(`Allowed \`alg\` values (asymmetric only). Default ${DEFAULT_JWT_ALGORITHMS.join(", ")}.`),
  })
  .refine((v) => (v.jwks_url === undefined) !== (v.public_key === undefined), {
    message: "give exactly one of jwks_url and public_key",
    path: ["jwks_url"],
  });

export type TenantJwtInput = z.infer<typeof tenantJwtInput>;

/** Checks that a configured public key really imports for each allowed algorithm family. */
export async function checkPublicKey(publicKey: string, algorithms: string[]): Promise<string | null> {
  for (const alg of algorithms) {
    try {
      await staticKey(publicKey, alg);
      return null;
    } catch {
      // try the next algorithm; a key needs to import for at least one of them
    }
  }
  return `public_key does not import as a public key for any of ${algorithms.join(", ")}`;
}
