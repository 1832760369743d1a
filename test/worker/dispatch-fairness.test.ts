// Fair across tenants, FIFO within a tenant: one tenant's backlog delays another tenant's first
// job by at most one job per slot; queue positions say so; cancels work queued and running.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { installClock } from "../support/clock.ts";
import { call, createTenant, type JobBody, submitOk, userHeaders } from "../support/worker-helpers.ts";
import {
  dispatcherPlace,
  dispatchesTo,
  eventFor,
  heartbeat,
  registerFakeHost,
  sendEvent,
  useTestHosts,
  waitForCall,
  waitForDispatches,
} from "../support/worker-hosts.ts";

const { track } = useTestHosts();

const view = async (key: string, user: string, id: string) =>
  (await (await call(`/v1/jobs/${id}`, { headers: userHeaders(key, user) })).json()) as Record<string, any>;
const cancel = (key: string, user: string, id: string) => call(`/v1/jobs/${id}`, { method: "DELETE", headers: userHeaders(key, user) });

describe("fairness", () => {
  it("a tenant with a backlog of 20 delays another tenant's first job by one job per slot", async ({ expect }) => {
    const big = await createTenant({ limits: { max_active_jobs_per_user: 50 } });
    const small = await createTenant();
    const backlog: JobBody[] = [];
    for (let i = 0; i < 20; i++) backlog.push(await submitOk(big.key, "bulk"));
    const first = await submitOk(small.key, "newcomer");

    // Positions under the round-robin, before any host is live.
    expect((await view(small.key, "newcomer", first.id)).queue_position).toBe(1);
    expect((await view(big.key, "bulk", backlog[0]!.id)).queue_position).toBe(0);
    expect((await view(big.key, "bulk", backlog[5]!.id)).queue_position).toBe(6);

    // One slot (capacity 1): jobs go one at a time.
    const host = await registerFakeHost(1);
    track(host);
    await heartbeat(host, { capacity: 1, free_slots: 1 });
    const [d1] = await waitForDispatches(host, 1);
    expect(d1!.job_id).toBe(backlog[0]!.id);
    await sendEvent(host, eventFor(host, d1!, "job.succeeded", { outputs: [] }));
    const [, d2] = await waitForDispatches(host, 2);
    expect(d2!.job_id).toBe(first.id);
    await sendEvent(host, eventFor(host, d2!, "job.succeeded", { outputs: [] }));
    const [, , d3] = await waitForDispatches(host, 3);
    expect(d3!.job_id).toBe(backlog[1]!.id);
    await sendEvent(host, eventFor(host, d3!, "job.succeeded", { outputs: [] }));
    // FIFO within the big tenant.
    const [, , , d4] = await waitForDispatches(host, 4);
    expect(d4!.job_id).toBe(backlog[2]!.id);
    await sendEvent(host, eventFor(host, d4!, "job.succeeded", { outputs: [] }));

    // Leave nothing queued for the next test.
    for (const j of backlog.slice(3)) await cancel(big.key, "bulk", j.id);
    const d5 = (await waitForDispatches(host, 5))[4];
    if (d5) await sendEvent(host, eventFor(host, d5, "job.cancelled"));
  });
});

describe("cancel", () => {
  it("a queued job is cancelled at once and leaves the queue", async ({ expect }) => {
    const t = await createTenant();
    const j = await submitOk(t.key, "u");
    const res = await cancel(t.key, "u", j.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "cancelled", queue_position: null });
    const depth = await runInDurableObject(
      env.DISPATCHER.getByName("default"),
      async (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM queue WHERE job_id = ?", j.id).one().n,
    );
    expect(depth).toBe(0);
  });

  it("a running job shows cancel_requested_at, its host is told, and it ends when the host confirms", async ({ expect }) => {
    const t = await createTenant();
    const host = await registerFakeHost(1);
    track(host);
    await heartbeat(host);
    const j = await submitOk(t.key, "u");
    const [d] = await waitForDispatches(host, 1);
    const res = await cancel(t.key, "u", j.id);
    expect(await res.json()).toMatchObject({ status: "running", cancel_requested_at: expect.any(String) });
    expect(await waitForCall(host, `/v1/jobs/${j.id}/cancel`)).toMatchObject({ job_id: j.id, attempt: 1, lease_id: d!.lease_id, reason: "user" });
    // The next heartbeat repeats the request until the host confirms.
    const hb = (await (await heartbeat(host, { jobs: [{ ...d!, state: "running" }] })).json()) as { cancel: unknown[] };
    expect(hb.cancel).toEqual([{ job_id: j.id, attempt: 1, lease_id: d!.lease_id }]);
    await sendEvent(host, eventFor(host, d!, "job.cancelled"));
    expect(await view(t.key, "u", j.id)).toMatchObject({ status: "cancelled", finished_at: expect.any(String) });
    const usage = (await (await call("/v1/usage", { headers: userHeaders(t.key, "u") })).json()) as { user_active_jobs: number };
    expect(usage.user_active_jobs).toBe(0);
  });

  it("a running job whose host never confirms the cancel ends cancelled when its lease runs out (not retried)", async ({ expect }) => {
    const clock = await installClock(env.DISPATCHER.getByName("default"));
    const t = await createTenant();
    const host = await registerFakeHost(1);
    track(host);
    await heartbeat(host);
    const j = await submitOk(t.key, "u");
    await waitForDispatches(host, 1);
    await cancel(t.key, "u", j.id);
    clock.advance(30_000); // the default LEASE_TTL_SECONDS: the lease runs out
    await runDurableObjectAlarm(env.DISPATCHER.getByName("default"));
    expect(await view(t.key, "u", j.id)).toMatchObject({ status: "cancelled", attempt: 1 });
    // Not retried: the job is nowhere in the Dispatcher, and the host got one dispatch only.
    expect(await dispatcherPlace(j.id)).toBe("absent");
    expect(await dispatchesTo(host)).toHaveLength(1);
  });
});
