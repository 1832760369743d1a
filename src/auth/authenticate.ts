/**
 * Authenticates a job request and names the end-user it acts for.
 *
 * - `Bearer csk_…` API key: the key id finds the row, the secret's SHA-256 is compared in constant
 *   time, a revoked key fails at once (no cache). `X-User-ID` is required and names the user.
 * - `Bearer <JWT>`: the tenant is the one whose configured issuer is the token's `iss`; the user is
 *   `sub`. `X-User-ID` may be omitted; if sent it must equal `sub`.
 *
 * Every failure is a 401 problem with a `WWW-Authenticate` challenge; the precise reason (unknown
 * key vs wrong secret vs revoked) goes to the log, not to the caller.
 */

import { createMiddleware } from "hono/factory";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { findApiKey } from "../db/api-keys.ts";
import { createDb, type Db } from "../db/client.ts";
import { findTenantByIssuer } from "../db/tenants.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { digestsEqual, sha256Hex } from "../lib/crypto.ts";
import { outboundOptions } from "../ssrf/from-config.ts";
import { guardedFetch } from "../ssrf/index.ts";
import { effectiveLimits } from "../tenants/limits.ts";
import { looksLikeApiKey, parseApiKey } from "./api-key.ts";
import { bearerToken, challenge } from "./bearer.ts";
import { DEFAULT_JWT_ALGORITHMS, type JwksFetch, MAX_JWKS_BYTES, verifyTenantJwt } from "./jwt.ts";
import type { Principal } from "./principal.ts";
import { isValidUserId, USER_ID_PATTERN } from "./user-id.ts";

const INVALID_JWT = "The JWT is not valid here: its issuer is not configured, or its signature does not verify.";
const SAME_AS_UNKNOWN_ISSUER: ReadonlySet<string> = new Set(["bad_signature", "no_matching_key", "alg_not_allowed", "malformed"]);

/** A tenant's JWKS URL is fetched through the outbound guard, capped in size and time. */
function jwksFetcher(config: AppEnv["Variables"]["config"]): JwksFetch {
  return async (url, signal) => {
    const got = await guardedFetch(url, {
      ...outboundOptions(config),
      maxBytes: MAX_JWKS_BYTES,
      timeoutMs: 5_000,
      maxRedirects: 2,
      accept: "application/jwk-set+json, application/json",
      signal,
    });
    return got.ok ? { ok: true, bytes: got.bytes } : { ok: false, detail: got.detail };
  };
}

function unauthenticated(detail: string, error?: "invalid_request" | "invalid_token"): ProblemError {
  return new ProblemError("unauthenticated", detail, {
    headers: { "WWW-Authenticate": challenge(error ? { error, description: detail } : undefined) },
  });
}

function invalidUserId(detail: string): ProblemError {
  return new ProblemError("invalid-user-id", detail, { extensions: { header: "X-User-ID", pattern: USER_ID_PATTERN.source } });
}

export const authenticate = createMiddleware<AppEnv>(async function authenticate(c, next) {
  const token = bearerToken(c.req.header("Authorization"));
  if (token.kind === "missing") throw unauthenticated("Send `Authorization: Bearer <API key or JWT>`.");
  if (token.kind === "malformed") throw unauthenticated("The Authorization header must be `Bearer <token>`.", "invalid_request");

  const db = createDb(c.env.DB);
  const headerUser = c.req.header("X-User-ID");
  const principal = looksLikeApiKey(token.value) ? await viaApiKey(c.var, db, token.value, headerUser) : await viaJwt(c.var, db, token.value, headerUser);
  c.set("principal", principal);
  await next();
});

async function viaApiKey(vars: AppEnv["Variables"], db: Db, token: string, headerUser: string | undefined): Promise<Principal> {
  const parsed = parseApiKey(token);
  const invalid = () => unauthenticated("The API key is not valid or has been revoked.", "invalid_token");
  if (!parsed.ok) {
    vars.log.warn("auth_failed", { via: "api_key", reason: "malformed_key" });
    throw invalid();
  }
  const [row, presented] = await Promise.all([findApiKey(db, parsed.id), sha256Hex(parsed.secret)]);
  const secretOk = row !== undefined && digestsEqual(presented, row.key.secretHash);
  // A tenant being deleted has its keys revoked in the same batch; its deleted_at is checked too.
  if (!row || !secretOk || row.key.revokedAt !== null || row.deletedAt !== null) {
    const reason = !row ? "unknown_key" : !secretOk ? "wrong_secret" : row.key.revokedAt !== null ? "revoked" : "tenant_deleted";
    vars.log.warn("auth_failed", { via: "api_key", reason, key_id: parsed.id });
    throw invalid();
  }
  if (headerUser === undefined || headerUser === "") {
    throw invalidUserId("Requests made with an API key must name the end-user in the `X-User-ID` header.");
  }
  if (!isValidUserId(headerUser)) {
    throw invalidUserId("`X-User-ID` must be 1-128 characters: a letter or digit, then letters, digits or . _ : @ -");
  }
  return {
    tenantId: row.tenantId,
    userId: headerUser,
    via: "api_key",
    keyId: row.key.id,
    limits: effectiveLimits(row, vars.config),
    pools: { defaultPool: row.defaultPool, allowedPools: row.allowedPools },
  };
}

async function viaJwt(vars: AppEnv["Variables"], db: Db, token: string, headerUser: string | undefined): Promise<Principal> {
  let iss: unknown;
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
    iss = decodeJwt(token).iss;
  } catch {
    throw unauthenticated("The bearer token is neither an API key nor a well-formed JWT.", "invalid_token");
  }
  if (typeof alg !== "string" || alg.toLowerCase() === "none") {
    throw unauthenticated("Unsigned JWTs (alg none) are never accepted.", "invalid_token");
  }
  if (typeof iss !== "string" || iss === "") throw unauthenticated("The JWT has no `iss` claim.", "invalid_token");
  const tenant = await findTenantByIssuer(db, iss);
  if (!tenant?.jwtAudience || (!tenant.jwtJwksUrl && !tenant.jwtPublicKey) || tenant.deletedAt !== null) {
    vars.log.warn("auth_failed", { via: "jwt", reason: "unknown_issuer" });
    throw unauthenticated(INVALID_JWT, "invalid_token");
  }
  const outcome = await verifyTenantJwt(
    token,
    {
      tenantId: tenant.id,
      issuer: iss,
      audience: tenant.jwtAudience,
      jwksUrl: tenant.jwtJwksUrl,
      publicKey: tenant.jwtPublicKey,
      algorithms: tenant.jwtAlgorithms ?? DEFAULT_JWT_ALGORITHMS,
    },
    vars.config.JWT_CLOCK_TOLERANCE_SECONDS,
    jwksFetcher(vars.config),
  );
  if (!outcome.ok) {
    vars.log.warn("auth_failed", { via: "jwt", reason: outcome.reason, tenant_id: tenant.id });
    if (outcome.reason === "jwks_unavailable") {
      throw new ProblemError("unavailable", "The token issuer's key set could not be fetched; try again shortly.", {
        headers: { "Retry-After": "5" },
      });
    }
    // Whether the issuer exists is not the caller's to learn: unknown issuer, unknown key and bad
    // signature read the same. Expiry and claims are only checked once the signature verified.
    throw unauthenticated(SAME_AS_UNKNOWN_ISSUER.has(outcome.reason) ? INVALID_JWT : outcome.detail, "invalid_token");
  }
  if (!isValidUserId(outcome.sub)) {
    throw unauthenticated("The JWT's `sub` is not a valid user id (1-128 of letters, digits, . _ : @ -).", "invalid_token");
  }
  if (headerUser !== undefined && headerUser !== outcome.sub) {
    throw invalidUserId("With a JWT, `X-User-ID` must be omitted or equal to the token's `sub`.");
  }
  return {
    tenantId: tenant.id,
    userId: outcome.sub,
    via: "jwt",
    limits: effectiveLimits(tenant, vars.config),
    pools: { defaultPool: tenant.defaultPool, allowedPools: tenant.allowedPools },
  };
}
