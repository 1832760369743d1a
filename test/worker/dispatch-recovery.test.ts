// When hosts fail: refused dispatches go elsewhere, unrenewed leases requeue with attempt + 1 up to
// MAX_ATTEMPTS then fail with host_lost, retryable failures retry, deadlines and queue timeouts end
// jobs, and every ending frees the tenant's slot. Time is moved by the Dispatcher's test clock.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { installClock } from "../support/clock.ts";
import { adminCall, call, createTenant, expectProblem, submitOk, userHeaders } from "../support/worker-helpers.ts";
import { eventFor, heartbeat, sendEvent, setDispatchStatus, useTestHosts, waitForCall, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();

const dispatcher = () => env.DISPATCHER.getByName("default");
// The defaults of LEASE_TTL_SECONDS, JOB_TIMEOUT_SECONDS (+ the edge's 30 s grace), QUEUED_TIMEOUT_SECONDS.
const LEASE_MS = 30_000;
const DEADLINE_MS = 1_800_000 + 30_000;
const QUEUE_TIMEOUT_MS = 900_000;
// The Worker stamps a job's queue deadline with its own (system) clock, a little after the test
// clock was installed: moving past it takes this much more.
const WORKER_SKEW_MS = 60_000;
const tick = () => runDurableObjectAlarm(dispatcher());
const job = async (key: string, user: string, id: string) =>
  (await (await call(`/v1/jobs/${id}`, { headers: userHeaders(key, user) })).json()) as Record<string, any>;
const active = async (key: string, user: string) =>
  ((await (await call("/v1/usage", { headers: userHeaders(key, user) })).json()) as { user_active_jobs: number }).user_active_jobs;

describe("lost hosts", () => {
  it("an unrenewed lease sends the job to another host as attempt 2, and the old host is fenced out", async ({ expect }) => {
    const clock = await installClock(dispatcher());
    const t = await createTenant();
    const a = await liveHost();
    const j = await submitOk(t.key, "u");
    const [first] = await waitForDispatches(a, 1);
    await adminCall(`/v1/admin/hosts/${a.id}/drain`, { method: "POST" });
    clock.advance(LEASE_MS);
    const b = await liveHost(); // heard from after the move, so live
    await tick();
    const [second] = await waitForDispatches(b, 1);
    expect(second).toMatchObject({ job_id: j.id, attempt: 2 });
    expect(second!.lease_id).not.toBe(first!.lease_id);
    expect(await job(t.key, "u", j.id)).toMatchObject({ status: "running", attempt: 2 });
    // The first host wakes up and reports: refused.
    await expectProblem(await sendEvent(a, eventFor(a, first!, "job.succeeded", { outputs: [] })), 409, "stale-lease");
    expect((await sendEvent(b, eventFor(b, second!, "job.succeeded", { outputs: [] }))).status).toBe(200);
    expect(await job(t.key, "u", j.id)).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(await active(t.key, "u")).toBe(0);
  });

  it("fails with host_lost after MAX_ATTEMPTS (3) lost leases, and frees the slot", async ({ expect }) => {
    const clock = await installClock(dispatcher());
    const t = await createTenant();
    const h = await liveHost();
    const j = await submitOk(t.key, "u");
    for (let attempt = 1; attempt <= 3; attempt++) {
      const got = await waitForDispatches(h, attempt);
      expect(got[attempt - 1]).toMatchObject({ job_id: j.id, attempt });
      clock.advance(LEASE_MS);
      // Keeps the host live. It never reports the job, but this heartbeat was composed when the
      // job was dispatched, so not reporting it is no sign of loss: only the lease runs out.
      await heartbeat(h, { sent_at: clock.now() - LEASE_MS });
      await tick();
    }
    expect(await job(t.key, "u", j.id)).toMatchObject({ status: "failed", attempt: 3, error: { code: "host_lost" } });
    expect(await active(t.key, "u")).toBe(0);
  });

  it("a host that stops reporting an accepted job loses it at the next heartbeat, without waiting for the lease", async ({ expect }) => {
    const clock = await installClock(dispatcher());
    const t = await createTenant();
    const h = await liveHost();
    const j = await submitOk(t.key, "u");
    await waitForDispatches(h, 1);
    clock.advance(10_000);
    await heartbeat(h, { jobs: [], sent_at: clock.now() });
    const again = await waitForDispatches(h, 2);
    expect(again[1]).toMatchObject({ job_id: j.id, attempt: 2 });
    // Ended here, so removing the host after the test does not hand the job to the next test's host.
    expect((await sendEvent(h, eventFor(h, again[1]!, "job.succeeded", { outputs: [] }))).status).toBe(200);
  });
});

describe("refusals and retries", () => {
  it("a refused dispatch puts the job back (same attempt) and tries a host that accepts", async ({ expect }) => {
    await installClock(dispatcher());
    const t = await createTenant();
    const full = await liveHost();
    await setDispatchStatus(full, 409);
    const j = await submitOk(t.key, "u");
    await waitForDispatches(full, 1);
    // The refusal keeps `full` out of dispatch until the (standing) clock passes its cooldown.
    const ok = await liveHost();
    await tick();
    const [d] = await waitForDispatches(ok, 1);
    expect(d).toMatchObject({ job_id: j.id, attempt: 1 });
    expect(await job(t.key, "u", j.id)).toMatchObject({ status: "running", attempt: 1 });
    await sendEvent(ok, eventFor(ok, d!, "job.cancelled"));
  });

  it("a retryable failure is retried; a non-retryable one is final", async ({ expect }) => {
    const t = await createTenant();
    const h = await liveHost();
    const j = await submitOk(t.key, "u");
    const [d1] = await waitForDispatches(h, 1);
    await sendEvent(h, eventFor(h, d1!, "job.failed", { error: { code: "host_error", message: "ComfyUI restarted" } }));
    const [, d2] = await waitForDispatches(h, 2);
    expect(d2).toMatchObject({ job_id: j.id, attempt: 2 });
    await sendEvent(h, eventFor(h, d2!, "job.failed", { error: { code: "out_of_memory", message: "CUDA out of memory" } }));
    expect(await job(t.key, "u", j.id)).toMatchObject({ status: "failed", attempt: 2, error: { code: "out_of_memory" } });
    expect(await active(t.key, "u")).toBe(0);
  });
});

describe("time limits", () => {
  it("a job nobody picks up fails with queue_timeout", async ({ expect }) => {
    const clock = await installClock(dispatcher());
    const t = await createTenant();
    const j = await submitOk(t.key, "u");
    expect((await job(t.key, "u", j.id)).queue_position).toBe(0);
    clock.advance(QUEUE_TIMEOUT_MS + WORKER_SKEW_MS);
    await tick();
    const view = await job(t.key, "u", j.id);
    expect(view).toMatchObject({ status: "failed", error: { code: "queue_timeout" }, queue_position: null });
    expect(view.error.message).toMatch(/900 s/);
    expect(await active(t.key, "u")).toBe(0);
  });

  it("a job past its deadline is failed with timeout and its host told to stop", async ({ expect }) => {
    const clock = await installClock(dispatcher());
    const t = await createTenant();
    const h = await liveHost();
    const j = await submitOk(t.key, "u");
    const [d] = await waitForDispatches(h, 1);
    // Leases are renewed by the host's heartbeats all along; only the run deadline passes.
    const ref = { job_id: d!.job_id, attempt: d!.attempt, lease_id: d!.lease_id, state: "running" as const };
    for (let moved = 0; moved < DEADLINE_MS; moved += 25_000) {
      clock.advance(25_000);
      await heartbeat(h, { sent_at: clock.now(), jobs: [ref] });
    }
    await tick();
    expect(await job(t.key, "u", j.id)).toMatchObject({ status: "failed", error: { code: "timeout" } });
    expect(await waitForCall(h, `/v1/jobs/${j.id}/cancel`)).toMatchObject({ job_id: j.id, attempt: 1, lease_id: d!.lease_id, reason: "timeout" });
    await expectProblem(await sendEvent(h, eventFor(h, d!, "job.succeeded", { outputs: [] })), 409, "stale-lease");
  });
});
