/**
 * Validates a tenant's JWT block from the admin API and turns it into table columns. Problems
 * are 422s the admin can act on (bad JWKS URL, a key that does not import).
 */
import { checkPublicKey, DEFAULT_JWT_ALGORITHMS, type TenantJwtInput } from "../auth/jwt.ts";
import type { TenantRow } from "../db/schema.ts";
import { ProblemError } from "../http/problem.ts";
import { checkConfiguredUrl, parseAllowHosts } from "../lib/outbound-allow.ts";

type JwtColumns = Pick<TenantRow, "jwtIssuer" | "jwtAudience" | "jwtJwksUrl" | "jwtPublicKey" | "jwtAlgorithms">;

export const NO_JWT: JwtColumns = { jwtIssuer: null, jwtAudience: null, jwtJwksUrl: null, jwtPublicKey: null, jwtAlgorithms: null };

export async function jwtColumns(input: TenantJwtInput, allowHostsSetting: string, pointer: string): Promise<JwtColumns> {
  const invalid = (field: string, detail: string) =>
    new ProblemError("validation-failed", `${pointer}/${field} ${detail}.`, { extensions: { errors: [{ pointer: `${pointer}/${field}`, detail }] } });
  const algorithms = input.algorithms ?? DEFAULT_JWT_ALGORITHMS;
  let publicKey: string | null = null;
  if (input.jwks_url !== undefined) {
    const why = checkConfiguredUrl(input.jwks_url, parseAllowHosts(allowHostsSetting));
    if (why) throw invalid("jwks_url", why);
  } else if (input.public_key !== undefined) {
    if (typeof input.public_key === "object" && "d" in input.public_key) throw invalid("public_key", "is a private key; send only the public part");
    // A symmetric key would be a shared secret we store and anyone reading it could mint tokens with.
    if (typeof input.public_key === "object" && input.public_key.kty === "oct")
      throw invalid("public_key", "is a symmetric (oct) key; only public keys of asymmetric algorithms are accepted");
    publicKey = typeof input.public_key === "string" ? input.public_key : JSON.stringify(input.public_key);
    const why = await checkPublicKey(publicKey, algorithms);
    if (why) throw invalid("public_key", why);
  }
  return {
    jwtIssuer: input.issuer,
    jwtAudience: input.audience,
    jwtJwksUrl: input.jwks_url ?? null,
    jwtPublicKey: publicKey,
    jwtAlgorithms: algorithms,
  };
}
