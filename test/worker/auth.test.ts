// The auth matrix: every way a credential can be wrong is a 401 problem with a challenge, and
// JWTs are verified against the tenant's issuer (public key or a real JWKS fetch).
import { env } from "cloudflare:workers";
import { exportJWK, exportSPKI, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { beforeAll, describe, inject, it } from "vitest";
import { adminCall, call, createTenant, expectProblem, json, submitOk, type TestTenant, userHeaders } from "../support/worker-helpers.ts";

const get = (headers: Record<string, string>) => call("/v1/jobs", { headers });

async function expect401(res: Response, error?: string) {
  const body = await expectProblem(res, 401, "unauthenticated");
  const challenge = res.headers.get("WWW-Authenticate") ?? "";
  if (!challenge.startsWith('Bearer realm="comfyui-saas"')) throw new Error(`bad challenge: ${challenge}`);
  if (error && !challenge.includes(`error="${error}"`)) throw new Error(`challenge lacks ${error}: ${challenge}`);
  return body;
}

describe("API keys", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("accepts a valid key with a user id", async ({ expect }) => {
    const res = await get(userHeaders(t.key, "alice"));
    expect(res.status).toBe(200);
  });

  it("rejects a missing Authorization header", async () => {
    await expect401(await get({ "X-User-ID": "alice" }));
  });

  it.each([["Basic YWxhZGRpbjpvcGVuc2VzYW1l"], ["Bearer"], ["Bearer "], ["Bearer a b"], ["Token abc"], ["bearer\tx y"]])(
    "rejects a malformed header %j",
    async (header) => {
      await expect401(await get({ Authorization: header, "X-User-ID": "alice" }));
    },
  );

  it("rejects a key that does not parse", async () => {
    await expect401(await get(userHeaders("csk_nonsense", "alice")), "invalid_token");
  });

  it("rejects a well-formed key that does not exist", async () => {
    const fake = `csk_${"a".repeat(20)}_${"b".repeat(52)}`;
    await expect401(await get(userHeaders(fake, "alice")), "invalid_token");
  });

  it("rejects the right key id with a wrong secret", async () => {
    const wrong = t.key.slice(0, -4) + (t.key.endsWith("aaaa") ? "bbbb" : "aaaa");
    await expect401(await get(userHeaders(wrong, "alice")), "invalid_token");
  });

  it("stops accepting a key the moment it is revoked", async ({ expect }) => {
    const tenant = await createTenant();
    expect((await get(userHeaders(tenant.key, "alice"))).status).toBe(200);
    const revoked = await adminCall(`/v1/admin/keys/${tenant.keyId}`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    await expect401(await get(userHeaders(tenant.key, "alice")), "invalid_token");
  });

  it("never stores the secret, only its SHA-256", async ({ expect }) => {
    const row = await env.DB.prepare("SELECT secret_hash FROM api_keys WHERE id = ?").bind(t.keyId).first<{ secret_hash: string }>();
    const secret = t.key.split("_")[2]!;
    expect(row?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.secret_hash).not.toContain(secret);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)));
    expect(row?.secret_hash).toBe(Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
  });

  it("requires X-User-ID with an API key", async ({ expect }) => {
    const body = await expectProblem(await get({ Authorization: `Bearer ${t.key}` }), 400, "invalid-user-id");
    expect(body.header).toBe("X-User-ID");
  });

  it.each([[""], ["-alice"], ["a".repeat(129)], ["al ice"], ["alice/bob"], ["ali\u00e7e"], ["_x"], ["a,b"]])("rejects X-User-ID %j", async (user) => {
    await expectProblem(await get({ Authorization: `Bearer ${t.key}`, "X-User-ID": user }), 400, "invalid-user-id");
  });

  it.each([["a"], ["A".repeat(128)], ["user@example.com"], ["org:team.user-1_x"]])("accepts X-User-ID %j", async (user) => {
    const res = await get(userHeaders(t.key, user));
    if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  });
});

describe("JWTs", () => {
  const AUD = "comfyui-saas-test";
  let staticIss: string;
  let staticKey: CryptoKey;
  let jwksIss: string;
  let jwksKey: CryptoKey;
  let edIss: string;
  let edKey: CryptoKey;

  beforeAll(async () => {
    // Tenant 1: a public JWK (ES256) stored in its config.
    const pair = await generateKeyPair("ES256", { extractable: true });
    staticKey = pair.privateKey;
    staticIss = `https://idp-${crypto.randomUUID()}.example.com/`;
    await createTenant({ jwt: { issuer: staticIss, audience: AUD, public_key: await exportJWK(pair.publicKey), algorithms: ["ES256"] } });

    // Tenant 2: the loopback JWKS server of global-setup (a real fetch from the Worker).
    const jwk = JSON.parse(inject("jwksPrivateJwk")) as JWK;
    jwksKey = (await importJWK(jwk, "ES256")) as CryptoKey;
    jwksIss = `https://jwks-${crypto.randomUUID()}.example.com/`;
    await createTenant({ jwt: { issuer: jwksIss, audience: AUD, jwks_url: `http://127.0.0.1:${inject("jwksPort")}/jwks.json` } });

    // Tenant 3: an Ed25519 key given as PEM.
    const ed = await generateKeyPair("EdDSA", { extractable: true });
    edKey = ed.privateKey;
    edIss = `https://ed-${crypto.randomUUID()}.example.com/`;
    await createTenant({ jwt: { issuer: edIss, audience: AUD, public_key: await exportSPKI(ed.publicKey), algorithms: ["EdDSA"] } });
  });

  const sign = (key: CryptoKey, alg: string, claims: Record<string, unknown>, opts: { kid?: string; exp?: string | number } = {}) => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg, ...(opts.kid ? { kid: opts.kid } : {}) }).setIssuedAt();
    if (opts.exp !== undefined) jwt.setExpirationTime(opts.exp);
    return jwt.sign(key);
  };
  const bearer = (token: string, extra: Record<string, string> = {}) => ({ Authorization: `Bearer ${token}`, ...extra });

  it("accepts a token signed with the tenant's public key; sub is the user", async ({ expect }) => {
    const token = await sign(staticKey, "ES256", { iss: staticIss, aud: AUD, sub: "jwt-user-1" }, { exp: "5m" });
    const res = await call("/v1/jobs", json({ workflow: { "1": { class_type: "SaveImage", inputs: {} } } }, bearer(token)));
    expect(res.status).toBe(202);
    expect(((await res.json()) as { user_id: string }).user_id).toBe("jwt-user-1");
  });

  it("accepts a token verified through the issuer's JWKS endpoint", async ({ expect }) => {
    const token = await sign(jwksKey, "ES256", { iss: jwksIss, aud: AUD, sub: "jwks-user" }, { kid: "test-key-1", exp: "5m" });
    expect((await get(bearer(token))).status).toBe(200);
  });

  it("accepts an EdDSA token against a PEM key", async ({ expect }) => {
    const token = await sign(edKey, "EdDSA", { iss: edIss, aud: AUD, sub: "ed-user" }, { exp: "5m" });
    expect((await get(bearer(token))).status).toBe(200);
  });

  it("rejects an expired token", async ({ expect }) => {
    const token = await sign(staticKey, "ES256", { iss: staticIss, aud: AUD, sub: "u" }, { exp: Math.floor(Date.now() / 1000) - 3600 });
    const body = await expect401(await get(bearer(token)), "invalid_token");
    expect(body.detail).toMatch(/expired/);
  });

  it("rejects a token without exp", async () => {
    await expect401(await get(bearer(await sign(staticKey, "ES256", { iss: staticIss, aud: AUD, sub: "u" }))), "invalid_token");
  });

  it("rejects a wrong audience", async ({ expect }) => {
    const token = await sign(staticKey, "ES256", { iss: staticIss, aud: "someone-else", sub: "u" }, { exp: "5m" });
    const body = await expect401(await get(bearer(token)), "invalid_token");
    expect(body.detail).toMatch(/aud/);
  });

  it("rejects an issuer no tenant trusts", async () => {
    const token = await sign(staticKey, "ES256", { iss: "https://evil.example.com/", aud: AUD, sub: "u" }, { exp: "5m" });
    await expect401(await get(bearer(token)), "invalid_token");
  });

  it("rejects alg none", async () => {
    const enc = (o: object) => btoa(JSON.stringify(o)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
    const token = `${enc({ alg: "none", typ: "JWT" })}.${enc({ iss: staticIss, aud: AUD, sub: "u", exp: Math.floor(Date.now() / 1000) + 300 })}.`;
    await expect401(await get(bearer(token)), "invalid_token");
  });

  it("rejects a bad signature (token signed by another key)", async () => {
    const other = await generateKeyPair("ES256");
    const token = await sign(other.privateKey, "ES256", { iss: staticIss, aud: AUD, sub: "u" }, { exp: "5m" });
    await expect401(await get(bearer(token)), "invalid_token");
  });

  it("rejects a tampered payload", async () => {
    const token = await sign(staticKey, "ES256", { iss: staticIss, aud: AUD, sub: "u" }, { exp: "5m" });
    const [h, p, s] = token.split(".");
    const payload = JSON.parse(atob(p!.replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;
    const forged = btoa(JSON.stringify({ ...payload, sub: "admin" }))
      .replaceAll("=", "")
      .replaceAll("+", "-")
      .replaceAll("/", "_");
    await expect401(await get(bearer(`${h}.${forged}.${s}`)), "invalid_token");
  });

  it("rejects an HS256 token even if signed with the public key bytes (no algorithm confusion)", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(await exportJWK(staticKey)));
    const token = await new SignJWT({ iss: staticIss, aud: AUD, sub: "u" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(secret);
    await expect401(await get(bearer(token)), "invalid_token");
  });

  it("rejects a sub that is not a valid user id", async () => {
    const token = await sign(staticKey, "ES256", { iss: staticIss, aud: AUD, sub: "bad user" }, { exp: "5m" });
    await expect401(await get(bearer(token)), "invalid_token");
  });

  it("rejects an X-User-ID that differs from sub, and accepts one that matches", async ({ expect }) => {
    const token = await sign(staticKey, "ES256", { iss: staticIss, aud: AUD, sub: "match-me" }, { exp: "5m" });
    await expectProblem(await get(bearer(token, { "X-User-ID": "someone-else" })), 400, "invalid-user-id");
    expect((await get(bearer(token, { "X-User-ID": "match-me" }))).status).toBe(200);
  });

  it("answers 503 (not 401) when the issuer's JWKS endpoint is down", async ({ expect }) => {
    const iss = `https://down-${crypto.randomUUID()}.example.com/`;
    await createTenant({ jwt: { issuer: iss, audience: AUD, jwks_url: `http://127.0.0.1:${inject("jwksPort")}/broken` } });
    const token = await sign(jwksKey, "ES256", { iss, aud: AUD, sub: "u" }, { kid: "test-key-1", exp: "5m" });
    const res = await get(bearer(token));
    await expectProblem(res, 503, "unavailable");
    expect(res.headers.get("Retry-After")).toBe("5");
  });

  it("a JWT user sees only their own jobs, like an API-key user", async () => {
    const t = await createTenant({
      jwt: {
        issuer: `https://iso-${crypto.randomUUID()}.example.com/`,
        audience: AUD,
        public_key: await exportJWK((await generateKeyPair("ES256", { extractable: true })).publicKey),
      },
    });
    const job = await submitOk(t.key, "api-user");
    const token = await sign(staticKey, "ES256", { iss: staticIss, aud: AUD, sub: "api-user" }, { exp: "5m" });
    // Same user id, different tenant: not visible.
    await expectProblem(await call(`/v1/jobs/${job.id}`, { headers: bearer(token) }), 404, "not-found");
  });
});

describe("every non-public route demands credentials", () => {
  it("answers 401 without credentials on each route in the app", async ({ expect }) => {
    const app = (await import("../../src/app.ts")).createApp();
    const PUBLIC = new Set([
      "GET /health",
      "GET /openapi.json",
      "GET /docs",
      "GET /docs/api-reference.js",
      "GET /v1/hosts/jwks.json",
      // A launched host's token exchange: the one-time token in the body is its credential (host-bootstrap.test.ts).
      "POST /v1/hosts/bootstrap",
      // The console's page and files: it signs in from the browser, with the API's own credentials.
      "GET /console",
      "GET /console/*",
      "GET /console/assets/:file{.+}",
    ]);
    const routes = app.routes.filter((r) => r.method !== "ALL" && !PUBLIC.has(`${r.method} ${r.path}`));
    expect(routes.length).toBeGreaterThan(6);
    for (const r of routes) {
      const path = r.path.replace(/:[^/]+/g, "x");
      const res = await call(path, {
        method: r.method,
        ...(r.method === "GET" || r.method === "DELETE" ? {} : { body: "{}", headers: { "Content-Type": "application/json" } }),
      });
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
    }
  });
});
