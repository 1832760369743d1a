// GPU time and what it costs (issue 18.4): each attempt's dispatch → end is added to the job and,
// once, to its tenant's month; GET /v1/usage shows it; a monthly cap refuses submits with 429
// spend-cap-reached; the admin report prices it per pool; /health says when a pool's queue timeout
// is shorter than its cold starts. A job's clock is moved back in D1 instead of waiting.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { monthOf } from "../../src/db/gpu-usage.ts";
import { gpuInstances, pools } from "../../src/db/schema.ts";
import { backToQueue, commitEnd } from "../../src/jobs/lifecycle.ts";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import { adminCall, call, createTenant, expectProblem, json, submit, submitOk, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";
import { eventFor, outputDescriptor, sendEvent, uploadOutput, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9]);

/** Backdates the running attempt's dispatch by `ms`, as if it had run that long. */
async function ranFor(jobId: string, ms: number): Promise<void> {
  await env.DB.prepare("UPDATE jobs SET attempt_started_at = attempt_started_at - ? WHERE id = ?").bind(ms, jobId).run();
}

async function jobView(key: string, user: string, id: string): Promise<{ status: string; timings: { gpu_ms: number } }> {
  return (await (await call(`/v1/jobs/${id}`, { headers: userHeaders(key, user) })).json()) as { status: string; timings: { gpu_ms: number } };
}

async function usage(key: string, user: string) {
  const res = await call("/v1/usage", { headers: userHeaders(key, user) });
  return (await res.json()) as {
    gpu_seconds_this_month: number;
    gpu_seconds_remaining: number | null;
    month: string;
    limits: { gpu_seconds_per_month: number };
  };
}

/** Submits a job and runs it to success on a fake host, as if it held the GPU for `ms`. */
async function runJob(key: string, user: string, ms: number): Promise<string> {
  const host = await liveHost();
  const job = await submitOk(key, user);
  const [d] = await waitForDispatches(host, 1);
  if (d?.job_id !== job.id) throw new Error("the host was given another job first: a test left one queued");
  await sendEvent(host, eventFor(host, d, "job.started", { prompt_id: "p" }));
  await ranFor(job.id, ms);
  if ((await uploadOutput(host, d, "o.png", PNG)).status !== 201) throw new Error("upload");
  const done = await sendEvent(host, eventFor(host, d, "job.succeeded", { outputs: [outputDescriptor("o.png", PNG, toHex(await sha256(PNG)))] }));
  if (done.status !== 200) throw new Error(`succeeded: ${done.status}`);
  return job.id;
}

describe("GPU time", () => {
  it("is recorded per job and added once to the tenant's month, whatever ends the job again", async ({ expect }) => {
    const t = await createTenant();
    expect((await usage(t.key, "u")).gpu_seconds_this_month).toBe(0);
    const id = await runJob(t.key, "u", 7_000);
    const view = await jobView(t.key, "u", id);
    expect(view.status).toBe("succeeded");
    expect(view.timings.gpu_ms).toBeGreaterThanOrEqual(7_000);
    expect(view.timings.gpu_ms).toBeLessThan(60_000);
    const after = await usage(t.key, "u");
    expect(after.month).toBe(monthOf(Date.now()));
    expect(after.gpu_seconds_this_month).toBeCloseTo(view.timings.gpu_ms / 1000, 0);
    expect(after.gpu_seconds_remaining).toBeNull();
    // A second ending (a late host event, a timeout sweep) changes nothing and counts nothing.
    const again = await commitEnd(createDb(env.DB), id, "failed", { now: Date.now() + 99_000, from: ["queued", "running"] });
    expect(again).toBeUndefined();
    expect((await usage(t.key, "u")).gpu_seconds_this_month).toBe(after.gpu_seconds_this_month);
  });

  it("adds up a retried attempt and the one that ends the job", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "r");
    const [d] = await waitForDispatches(host, 1);
    await ranFor(job.id, 4_000);
    // The host was lost: the attempt held the GPU until now and the job goes back to the queue.
    const back = await backToQueue(createDb(env.DB), job.id, d!.attempt, "retry", Date.now());
    expect(back?.gpuMs).toBeGreaterThanOrEqual(4_000);
    const ended = await commitEnd(createDb(env.DB), job.id, "cancelled", { now: Date.now(), from: ["queued"] });
    // Ended from the queue: no attempt was running, nothing more is added.
    expect(ended?.gpuMs).toBe(back?.gpuMs);
    expect((await usage(t.key, "r")).gpu_seconds_this_month).toBeCloseTo((back?.gpuMs ?? 0) / 1000, 0);
  });

  it("refuses submits past the tenant's monthly cap with 429 spend-cap-reached, and no one else's", async ({ expect }) => {
    const capped = await createTenant({ limits: { gpu_seconds_per_month: 5 } });
    const other = await createTenant();
    expect((await usage(capped.key, "c")).limits.gpu_seconds_per_month).toBe(5);
    await runJob(capped.key, "c", 6_000);
    const standing = await usage(capped.key, "c");
    expect(standing.gpu_seconds_remaining).toBe(0);
    // The submit's checks read in parallel, yet refuse in their fixed order: an earlier check's
    // problem wins over the cap, whichever read answered first.
    await expectProblem(await submit(capped.key, "c", { workflow: WORKFLOW, pool: "no-such-pool" }), 422, "unknown-pool");
    await expectProblem(await submit(capped.key, "c", { workflow: WORKFLOW, webhook: { url: "http://127.0.0.1:1/hook" } }), 422, "unsafe-webhook-url");
    const res = await submit(capped.key, "c");
    const problem = await expectProblem(res, 429, "spend-cap-reached");
    expect(problem).toMatchObject({ limit: 5, "violated-policies": ["gpu-seconds-per-month"] });
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(res.headers.get("RateLimit-Policy")).toMatch(/^"gpu-seconds-per-month";q=5;w=\d+$/);
    expect(res.headers.get("RateLimit")).toMatch(/^"gpu-seconds-per-month";r=0;t=\d+$/);
    // Nothing was admitted.
    const list = (await (await call("/v1/jobs", { headers: userHeaders(capped.key, "c") })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
    const otherJob = await submit(other.key, "c");
    expect(otherJob.status).toBe(202);
    // The operator raises the cap: submits work again.
    expect((await adminCall(`/v1/admin/tenants/${capped.id}`, { ...json({ limits: { gpu_seconds_per_month: 1_000 } }), method: "PATCH" })).status).toBe(200);
    const again = await submit(capped.key, "c");
    expect(again.status).toBe(202);
    // Neither is run here: cancelled, so the next test's host gets its own job.
    for (const [key, res] of [
      [other.key, otherJob],
      [capped.key, again],
    ] as const) {
      const { id } = (await res.json()) as { id: string };
      expect((await call(`/v1/jobs/${id}`, { method: "DELETE", headers: userHeaders(key, "c") })).status).toBe(200);
    }
  });

  it("reports a month per tenant and pool, priced, with the hosts the autoscaler billed", async ({ expect }) => {
    const t = await createTenant();
    await runJob(t.key, "p", 10_000);
    expect((await adminCall("/v1/admin/pools/default", { ...json({ price_per_gpu_second: 0.001 }), method: "PATCH" })).status).toBe(200);
    const now = Date.now();
    await createDb(env.DB)
      .insert(gpuInstances)
      .values({
        id: `ins_${crypto.randomUUID()}`,
        pool: "default",
        provider: "local",
        providerId: "lp-x",
        hostId: `as-${crypto.randomUUID().slice(0, 8)}`,
        state: "terminated",
        launchedAt: now - 120_000,
        readyAt: now - 100_000,
        drainingAt: null,
        terminatedAt: now - 20_000,
        terminateReason: "drained",
        lastBusyAt: null,
        costPerHour: null,
      });
    const res = await adminCall(`/v1/admin/usage?month=${monthOf(now)}`);
    expect(res.status).toBe(200);
    const report = (await res.json()) as {
      month: string;
      tenants: { tenant_id: string; pool: string; gpu_seconds: number; jobs: number; cost_usd: number | null }[];
      pools: { pool: string; billed_host_seconds: number; launched_instances: number; billed_cost_usd: number | null; job_gpu_seconds: number }[];
    };
    const mine = report.tenants.find((r) => r.tenant_id === t.id);
    expect(mine).toMatchObject({ pool: "default", jobs: 1 });
    expect(mine!.gpu_seconds).toBeGreaterThanOrEqual(10);
    expect(mine!.cost_usd).toBeCloseTo(mine!.gpu_seconds * 0.001, 2);
    const pool = report.pools.find((p) => p.pool === "default")!;
    expect(pool.billed_host_seconds).toBeGreaterThanOrEqual(100);
    expect(pool.launched_instances).toBeGreaterThanOrEqual(1);
    expect(pool.billed_cost_usd).toBeCloseTo(pool.billed_host_seconds * 0.001, 2);
    await expectProblem(await adminCall("/v1/admin/usage?month=2026-13"), 400, "invalid-query");
    await expectProblem(await call("/v1/admin/usage"), 401, "unauthenticated");
  });

  it("lets /health call a scaled-to-zero pool ok, and warn when its queue timeout is shorter than its cold starts", async ({ expect }) => {
    const now = Date.now();
    const db = createDb(env.DB);
    await db.insert(pools).values({
      name: "health-auto",
      description: null,
      gpuModel: null,
      gpuVramGb: null,
      queueTimeoutSeconds: 60,
      modelFiles: null,
      pinnedModels: null,
      previews: null,
      autoscaling: {
        provider: "local",
        min_hosts: 0,
        max_hosts: 2,
        buffer_hosts: 0,
        scaledown_window_seconds: 60,
        boot_timeout_seconds: 600,
        slots_per_host: 1,
        edge_url: "http://127.0.0.1:1",
      },
      pricePerGpuSecond: null,
      createdAt: now,
      updatedAt: now,
    });
    for (let i = 0; i < 6; i++) {
      await db.insert(gpuInstances).values({
        id: `ins_h${i}_${crypto.randomUUID().slice(0, 8)}`,
        pool: "health-auto",
        provider: "local",
        providerId: `lp-${i}`,
        hostId: `as-h${i}-${crypto.randomUUID().slice(0, 6)}`,
        state: "terminated",
        launchedAt: now - 200_000 - i,
        readyAt: now - 100_000 - i,
        drainingAt: null,
        terminatedAt: now - 50_000,
        terminateReason: "drained",
        lastBusyAt: null,
        costPerHour: null,
      });
    }
    const res = await adminCall("/health");
    const body = (await res.json()) as {
      components: {
        pools: Record<string, { status: string; autoscaled: boolean; detail?: string; cold_start_p99_seconds: number | null; warnings: string[] }>;
      };
    };
    const p = body.components.pools["health-auto"]!;
    expect(p).toMatchObject({ status: "ok", autoscaled: true, detail: "scaled to zero: the next job boots a host", cold_start_p99_seconds: 100 });
    expect(p.warnings).toEqual([expect.stringContaining("queue timeout (60 s) is shorter than its observed cold start p99 (100 s)")]);
  });
});
