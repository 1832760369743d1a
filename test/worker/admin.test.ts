// The admin API: only ADMIN_TOKEN gets in; tenants, limits, keys and JWT issuers are managed
// here, and secrets are shown once and never stored in the clear.
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { describe, it } from "vitest";
import { adminCall, call, createTenant, expectProblem, json } from "../support/worker-helpers.ts";

const patch = (id: string, body: unknown) => adminCall(`/v1/admin/tenants/${id}`, { ...json(body), method: "PATCH" });

describe("admin token", () => {
  it.each([
    ["missing", {}],
    ["wrong", { Authorization: "Bearer not-the-admin-token-not-the-admin-token" }],
    ["an API key", { Authorization: "Bearer csk_aaaaaaaaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" }],
    ["basic", { Authorization: "Basic YWRtaW46YWRtaW4=" }],
  ])("refuses a %s token", async (_, headers) => {
    const res = await call("/v1/admin/tenants", json({ name: "x" }, headers as Record<string, string>));
    await expectProblem(res, 401, "unauthenticated");
    if (!res.headers.get("WWW-Authenticate")) throw new Error("no challenge");
  });
});

describe("tenants", () => {
  it("creates a tenant with default limits and a webhook secret shown once", async ({ expect }) => {
    const res = await adminCall("/v1/admin/tenants", json({ name: "Acme" }));
    expect(res.status).toBe(201);
    const t = (await res.json()) as Record<string, any>;
    expect(t.id).toMatch(/^ten_[a-z2-7]{20}$/);
    expect(res.headers.get("Location")).toBe(`/v1/admin/tenants/${t.id}`);
    expect(t.limits).toEqual({
      max_active_jobs_per_user: 5,
      max_active_jobs_per_tenant: 50,
      requests_per_minute: 120,
      uploads_per_day: 2_000,
      upload_bytes_per_day: 4_294_967_296,
      // TENANT_MAX_MODELS and TENANT_MODEL_BYTES of the test config (vitest.workers.config.ts).
      model_files: 4,
      model_bytes: 100_000,
      // GPU_SECONDS_PER_MONTH: no cap by default.
      gpu_seconds_per_month: 0,
      retention_days: 30,
      storage_bytes: 107_374_182_400,
    });
    expect(t.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(t.webhook_secret.slice(6)).length).toBe(32);

    // Not in the clear in D1, and never returned again.
    const stored = await env.DB.prepare("SELECT secret_ciphertext FROM webhook_secrets WHERE tenant_id = ?").bind(t.id).all<{ secret_ciphertext: string }>();
    expect(stored.results).toHaveLength(1);
    expect(stored.results[0]!.secret_ciphertext).not.toContain(t.webhook_secret.slice(6, 20));
    const again = (await (await adminCall(`/v1/admin/tenants/${t.id}`)).json()) as Record<string, unknown>;
    expect(again).not.toHaveProperty("webhook_secret");
    expect(JSON.stringify(again)).not.toContain(t.webhook_secret.slice(6));
  });

  it("sets, changes and resets limits", async ({ expect }) => {
    const created = (await (await adminCall("/v1/admin/tenants", json({ name: "L", limits: { max_active_jobs_per_user: 2 } }))).json()) as any;
    expect(created.limits.max_active_jobs_per_user).toBe(2);
    expect(created.limit_overrides.max_active_jobs_per_user).toBe(2);
    const changed = (await (await patch(created.id, { limits: { requests_per_minute: 7 }, name: "L2" })).json()) as any;
    expect(changed).toMatchObject({ name: "L2", limits: { max_active_jobs_per_user: 2, requests_per_minute: 7, max_active_jobs_per_tenant: 50 } });
    const reset = (await (await patch(created.id, { limits: { max_active_jobs_per_user: null } })).json()) as any;
    expect(reset.limits.max_active_jobs_per_user).toBe(5);
    expect(reset.limit_overrides.max_active_jobs_per_user).toBeNull();
  });

  it("rejects bad limits and unknown fields with 422", async () => {
    await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "x", limits: { max_active_jobs_per_user: 0 } })), 422, "validation-failed");
    await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "x", limits: { max_active_jobs_per_user: 1.5 } })), 422, "validation-failed");
    await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "x", limits: { max_jobs: 3 } })), 422, "validation-failed");
    await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "" })), 422, "validation-failed");
    await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "x", plan: "pro" })), 422, "validation-failed");
  });

  it("404s an unknown tenant on read, patch and key creation", async () => {
    await expectProblem(await adminCall("/v1/admin/tenants/ten_aaaaaaaaaaaaaaaaaaaa"), 404, "not-found");
    await expectProblem(await patch("ten_aaaaaaaaaaaaaaaaaaaa", { name: "x" }), 404, "not-found");
    await expectProblem(await adminCall("/v1/admin/tenants/ten_aaaaaaaaaaaaaaaaaaaa/keys", { method: "POST" }), 404, "not-found");
  });

  it("validates JWT settings: https JWKS, public keys only, unique issuers", async ({ expect }) => {
    const iss = `https://idp-${crypto.randomUUID()}.example.com/`;
    const pair = await generateKeyPair("ES256", { extractable: true });
    const base = { issuer: iss, audience: "a" };
    const httpJwks = await adminCall("/v1/admin/tenants", json({ name: "j", jwt: { ...base, jwks_url: "http://idp.example.com/jwks" } }));
    expect((await expectProblem(httpJwks, 422, "validation-failed")).detail as string).toMatch(/https/);
    const both = await adminCall("/v1/admin/tenants", json({ name: "j", jwt: { ...base, jwks_url: "https://x/j", public_key: "k" } }));
    await expectProblem(both, 422, "validation-failed");
    const priv = await adminCall("/v1/admin/tenants", json({ name: "j", jwt: { ...base, public_key: await exportJWK(pair.privateKey) } }));
    await expectProblem(priv, 422, "validation-failed");
    const junk = await adminCall(
      "/v1/admin/tenants",
      json({ name: "j", jwt: { ...base, public_key: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----" } }),
    );
    await expectProblem(junk, 422, "validation-failed");
    const hs = await adminCall("/v1/admin/tenants", json({ name: "j", jwt: { ...base, public_key: await exportJWK(pair.publicKey), algorithms: ["HS256"] } }));
    await expectProblem(hs, 422, "validation-failed");

    const ok = await adminCall("/v1/admin/tenants", json({ name: "j", jwt: { ...base, public_key: await exportJWK(pair.publicKey) } }));
    expect(ok.status).toBe(201);
    const okBody = (await ok.json()) as any;
    expect(okBody.jwt).toMatchObject({ issuer: iss, audience: "a", jwks_url: null, has_public_key: true });
    const clash = await adminCall("/v1/admin/tenants", json({ name: "k", jwt: { ...base, public_key: await exportJWK(pair.publicKey) } }));
    await expectProblem(clash, 409, "conflict");
    // Removing the issuer frees it.
    expect((await patch(okBody.id, { jwt: null })).status).toBe(200);
    expect((await adminCall("/v1/admin/tenants", json({ name: "k", jwt: { ...base, public_key: await exportJWK(pair.publicKey) } }))).status).toBe(201);
  });
});

describe("API keys", () => {
  it("shows the key once, lists keys without secrets, and revokes idempotently", async ({ expect }) => {
    const t = await createTenant();
    const res = await adminCall(`/v1/admin/tenants/${t.id}/keys`, json({ name: "ci" }));
    expect(res.status).toBe(201);
    const created = (await res.json()) as any;
    expect(created.key).toMatch(/^csk_[a-z2-7]{20}_[a-z2-7]{52}$/);
    expect(created.key.slice(4, 24)).toBe(created.id.slice(4));
    expect(created).toMatchObject({ tenant_id: t.id, name: "ci", revoked_at: null });

    const list = (await (await adminCall(`/v1/admin/tenants/${t.id}/keys`)).json()) as { data: any[] };
    expect(list.data.map((k) => k.id).sort()).toEqual([t.keyId, created.id].sort());
    expect(JSON.stringify(list)).not.toContain(created.key.slice(25));
    expect(list.data.every((k) => !("key" in k) && !("secret_hash" in k))).toBe(true);

    const first = (await (await adminCall(`/v1/admin/keys/${created.id}`, { method: "DELETE" })).json()) as any;
    expect(first.revoked_at).not.toBeNull();
    const second = (await (await adminCall(`/v1/admin/keys/${created.id}`, { method: "DELETE" })).json()) as any;
    expect(second.revoked_at).toBe(first.revoked_at);
    await expectProblem(await adminCall("/v1/admin/keys/key_aaaaaaaaaaaaaaaaaaaa", { method: "DELETE" }), 404, "not-found");
  });

  it("accepts an empty body sent with Content-Type: application/json (as many clients do)", async ({ expect }) => {
    const t = await createTenant();
    const res = await adminCall(`/v1/admin/tenants/${t.id}/keys`, { method: "POST", headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { name: unknown }).name).toBeNull();
  });
});
