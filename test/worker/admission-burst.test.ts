// Strict admission under bursts (audit item 2: limit 5 once accepted 6 of 8). Concurrent submits
// from Promise.all must admit exactly the limit, every round.
import { describe, it } from "vitest";
import { adminCall, createKey, createTenant, json, submit, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";

async function burst(key: string, users: string[]): Promise<{ status: number; user: string; body: Record<string, unknown>; headers: Headers }[]> {
  const responses = await Promise.all(users.map((u) => submit(key, u)));
  return Promise.all(
    responses.map(async (r, i) => ({ status: r.status, user: users[i]!, body: (await r.json()) as Record<string, unknown>, headers: r.headers })),
  );
}

describe("one user, limit 5", () => {
  // 20 rounds of 200 concurrent submits is 4,000 requests through the whole Worker: about 45 s on
  // a quiet 2-core machine, so the default 60 s would fail it on a busy one without any bug.
  it.for([8, 50, 200])("a burst of %i admits exactly 5, every round for 20 rounds", { timeout: 240_000 }, async (size, { expect }) => {
    for (let round = 0; round < 20; round++) {
      const t = await createTenant({ limits: { max_active_jobs_per_user: 5 } });
      const results = await burst(t.key, Array(size).fill("burster"));
      const accepted = results.filter((r) => r.status === 202);
      const rejected = results.filter((r) => r.status === 429);
      expect(accepted.length, `round ${round}`).toBe(5);
      expect(rejected.length, `round ${round}`).toBe(size - 5);
      expect(new Set(accepted.map((r) => r.body.id)).size).toBe(5);
      for (const r of rejected) {
        expect(r.body.type).toBe("https://comfyui-saas.dev/problems/active-jobs-per-user");
        expect(r.body).toMatchObject({ status: 429, limit: 5, current: 5 });
        expect(Number(r.headers.get("Retry-After"))).toBeGreaterThan(0);
        expect(r.headers.get("RateLimit")).toContain('"active-jobs-per-user";r=0');
      }
    }
  });
});

describe("several users of one tenant", () => {
  it("each user's cap holds exactly while they all burst together", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 3, max_active_jobs_per_tenant: 1000 } });
    const users = ["u1", "u2", "u3", "u4", "u5", "u6"];
    const results = await burst(
      t.key,
      users.flatMap((u) => Array(12).fill(u)),
    );
    for (const u of users) expect(results.filter((r) => r.user === u && r.status === 202).length, u).toBe(3);
    expect(results.filter((r) => r.status === 429).length).toBe(6 * 9);
  });

  it("the tenant cap holds exactly when it is the lower one", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 5, max_active_jobs_per_tenant: 12 } });
    const users = ["a", "b", "c", "d", "e"];
    const results = await burst(
      t.key,
      users.flatMap((u) => Array(10).fill(u)),
    );
    const accepted = results.filter((r) => r.status === 202);
    expect(accepted.length).toBe(12);
    for (const u of users) expect(accepted.filter((r) => r.user === u).length).toBeLessThanOrEqual(5);
    const tenantRejections = results.filter((r) => r.body.type === "https://comfyui-saas.dev/problems/active-jobs-per-tenant");
    expect(tenantRejections.length).toBeGreaterThan(0);
    expect(tenantRejections[0]!.body).toMatchObject({ limit: 12, current: 12 });
  });

  it("bursts through two API keys of the same tenant share one count", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 4 } });
    const second = await createKey(t.id);
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => submit(i % 2 ? second.key : t.key, "shared")));
    expect(responses.filter((r) => r.status === 202).length).toBe(4);
  });

  it("another tenant is never affected by a tenant at its cap", async ({ expect }) => {
    const full = await createTenant({ limits: { max_active_jobs_per_user: 1 } });
    const other = await createTenant({ limits: { max_active_jobs_per_user: 1 } });
    await burst(full.key, Array(10).fill("x"));
    expect((await submit(other.key, "x")).status).toBe(202);
  });
});

describe("limit changes", () => {
  it("take effect on the next submit", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 3 } });
    for (let i = 0; i < 2; i++) expect((await submit(t.key, "lc")).status).toBe(202);
    const lower = await adminCall(`/v1/admin/tenants/${t.id}`, { ...json({ limits: { max_active_jobs_per_user: 2 } }), method: "PATCH" });
    expect(lower.status).toBe(200);
    expect((await submit(t.key, "lc")).status).toBe(429);
    await adminCall(`/v1/admin/tenants/${t.id}`, { ...json({ limits: { max_active_jobs_per_user: 4 } }), method: "PATCH" });
    expect((await submit(t.key, "lc")).status).toBe(202);
  });
});

describe("rate-limit headers", () => {
  it("every 202 and 429 carries RateLimit-Policy and RateLimit", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 2, max_active_jobs_per_tenant: 40, requests_per_minute: 30 } });
    const first = await submit(t.key, "h", { workflow: WORKFLOW });
    expect(first.status).toBe(202);
    expect(first.headers.get("RateLimit-Policy")).toBe(
      '"active-jobs-per-user";q=2;qu="concurrent-requests", "active-jobs-per-tenant";q=40;qu="concurrent-requests", "requests-per-minute";q=30;w=60',
    );
    expect(first.headers.get("RateLimit")).toMatch(/^"active-jobs-per-user";r=1, "active-jobs-per-tenant";r=39, "requests-per-minute";r=29;t=\d+$/);
    await submit(t.key, "h");
    const third = await submit(t.key, "h");
    expect(third.status).toBe(429);
    expect(third.headers.get("RateLimit-Policy")).toContain('"active-jobs-per-user";q=2');
    expect(third.headers.get("RateLimit")).toMatch(/^"active-jobs-per-user";r=0, "active-jobs-per-tenant";r=38, "requests-per-minute";r=28;t=\d+$/);
    const usage = (await (await (await import("../support/worker-helpers.ts")).call("/v1/usage", { headers: userHeaders(t.key, "h") })).json()) as Record<
      string,
      unknown
    >;
    expect(usage).toMatchObject({ user_active_jobs: 2, tenant_active_jobs: 2, submissions_last_minute: 2, submissions_remaining: 28 });
  });
});
