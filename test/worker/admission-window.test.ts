// The per-minute window is exact and sliding: exactly `requests_per_minute` admitted in any 60 s,
// the next refused until the oldest submission leaves the window. Time is moved by the tenant's
// TenantQuota test clock, not by sleeping.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { installClock } from "../support/clock.ts";
import { createTenant, submit } from "../support/worker-helpers.ts";

describe("requests per minute", () => {
  it("admits exactly the limit, refuses the next, and admits again once the oldest leaves the window", async ({ expect }) => {
    const t = await createTenant({ limits: { requests_per_minute: 10, max_active_jobs_per_user: 1000, max_active_jobs_per_tenant: 1000 } });
    const clock = await installClock(env.TENANT_QUOTA.getByName(t.id));
    // Two submissions first, the burst one second later: the two are the oldest in the window.
    for (const user of ["w0", "w1"]) expect((await submit(t.key, user)).status).toBe(202);
    clock.advance(1_000);
    const burst = await Promise.all(Array.from({ length: 23 }, (_, i) => submit(t.key, `w${i % 5}`)));
    expect(burst.filter((r) => r.status === 202).length).toBe(8);
    const refused = burst.find((r) => r.status === 429)!;
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: "https://comfyui-saas.dev/problems/requests-per-minute",
      limit: 10,
      current: 10,
      "violated-policies": ["requests-per-minute"],
    });
    // The oldest submission leaves the window 59 s from now.
    expect(refused.headers.get("Retry-After")).toBe("59");

    // 60.5 s after the first two: they left the window, the burst (59.5 s old) did not. Two open.
    clock.advance(59_500);
    const next = await Promise.all(Array.from({ length: 6 }, () => submit(t.key, "late")));
    expect(next.filter((r) => r.status === 202).length).toBe(2);

    // A submission 59.5 s old still counts: the window slides, it does not reset on a boundary.
    expect((await submit(t.key, "late")).status).toBe(429);
    clock.advance(1_000);
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
