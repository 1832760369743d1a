// The per-minute window is exact and sliding: exactly `requests_per_minute` admitted in any 60 s,
// the next refused until the oldest submission leaves the window. Time is moved by backdating the
// object's stored submissions, not by sleeping.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createTenant, submit } from "../support/worker-helpers.ts";

const shift = (tenantId: string, sql: string, ...params: unknown[]) =>
  runInDurableObject(env.TENANT_QUOTA.getByName(tenantId), async (_instance, state) => {
    state.storage.sql.exec(sql, ...params);
  });

describe("requests per minute", () => {
  it("admits exactly the limit, refuses the next, and admits again once the oldest leaves the window", async ({ expect }) => {
    const t = await createTenant({ limits: { requests_per_minute: 10, max_active_jobs_per_user: 1000, max_active_jobs_per_tenant: 1000 } });
    const burst = await Promise.all(Array.from({ length: 25 }, (_, i) => submit(t.key, `w${i % 5}`)));
    expect(burst.filter((r) => r.status === 202).length).toBe(10);
    const refused = burst.find((r) => r.status === 429)!;
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: "https://comfyui-saas.dev/problems/requests-per-minute",
      limit: 10,
      current: 10,
      "violated-policies": ["requests-per-minute"],
    });
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Move the oldest two submissions 61 s into the past: two slots open, not more.
    await shift(t.id, "UPDATE submissions SET at = at - 61000 WHERE job_id IN (SELECT job_id FROM submissions ORDER BY at, job_id LIMIT 2)");
    const next = await Promise.all(Array.from({ length: 6 }, () => submit(t.key, "late")));
    expect(next.filter((r) => r.status === 202).length).toBe(2);

    // A submission 59 s old still counts: the window slides, it does not reset on a boundary.
    await shift(t.id, "UPDATE submissions SET at = at - 59000");
    expect((await submit(t.key, "late")).status).toBe(429);
    await shift(t.id, "UPDATE submissions SET at = at - 2000");
    expect((await submit(t.key, "late")).status).toBe(202);
  });

  it("refusals do not consume the window", async ({ expect }) => {
    const t = await createTenant({ limits: { requests_per_minute: 3, max_active_jobs_per_user: 1 } });
    expect((await submit(t.key, "one")).status).toBe(202);
    // Refused by the per-user cap: must not count as submissions.
    for (let i = 0; i < 5; i++) expect((await submit(t.key, "one")).status).toBe(429);
    expect((await submit(t.key, "two")).status).toBe(202);
    expect((await submit(t.key, "three")).status).toBe(202);
    const fourth = await submit(t.key, "four");
    expect(((await fourth.json()) as { type: string }).type).toBe("https://comfyui-saas.dev/problems/requests-per-minute");
  });
});
