// A pool spread over several Dispatcher shards (docs/scale.md, "Past one Durable Object"): a
// tenant's jobs queue in its shard, hosts are balanced over the shards, pool-wide reads sum them,
// and a shard whose host is free takes work queued in another (stealing). The shard count only grows.
import { createExecutionContext, createScheduledController, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { shardName, tenantShard } from "../../src/dispatch/shards.ts";
import type { Env } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { adminCall, call, createTenant, expectProblem, json, submit, type TestTenant, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";
import { dispatcherPlace, eventFor, heartbeat, registerFakeHost, sendEvent, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { track } = useTestHosts();

type Json = Record<string, any>;

async function shardedPool(shards: number): Promise<string> {
  const name = `sh-${crypto.randomUUID().slice(0, 8)}`;
  const res = await adminCall("/v1/admin/pools", json({ name, dispatcher_shards: shards }));
  if (res.status !== 201) throw new Error(`pool create: ${res.status} ${await res.text()}`);
  return name;
}

/** A new tenant whose jobs go to `shard` of a pool with `shards` (tenant ids are random: new ones until one hashes there). */
async function tenantIn(shard: number, shards: number): Promise<TestTenant> {
  // Each try lands in `shard` with probability 1/shards: 64 misses in a row would be a broken hash.
  for (let i = 0; i < 64; i++) {
    const t = await createTenant();
    if (tenantShard(t.id, shards) === shard) return t;
  }
  throw new Error(`no tenant hashed to shard ${shard} of ${shards} in 64 tries`);
}

async function submitTo(t: TestTenant, pool: string): Promise<Json> {
  const res = await submit(t.key, "u", { workflow: WORKFLOW, pool });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

const view = async (t: TestTenant, id: string) => (await (await call(`/v1/jobs/${id}`, { headers: userHeaders(t.key, "u") })).json()) as Json;
const storedShard = async (table: "jobs" | "gpu_hosts", id: string) =>
  (await env.DB.prepare(`SELECT dispatcher_shard AS s FROM ${table} WHERE id = ?`).bind(id).first<{ s: number }>())?.s;
const patch = (pool: string, body: unknown) => adminCall(`/v1/admin/pools/${pool}`, { ...json(body), method: "PATCH" });

describe("a pool of two shards", () => {
  it("queues each tenant's jobs in its own shard and balances hosts over the shards", async ({ expect }) => {
    const pool = await shardedPool(2);
    const t0 = await tenantIn(0, 2);
    const t1 = await tenantIn(1, 2);
    const j0 = await submitTo(t0, pool);
    const j1 = await submitTo(t1, pool);
    expect(await storedShard("jobs", j0.id)).toBe(0);
    expect(await storedShard("jobs", j1.id)).toBe(1);
    // Each queue row is in its tenant's shard and only there (shard 0 is the plain pool name).
    expect(await dispatcherPlace(j0.id, shardName(pool, 0))).toBe("queued");
    expect(await dispatcherPlace(j0.id, shardName(pool, 1))).toBe("absent");
    expect(await dispatcherPlace(j1.id, shardName(pool, 1))).toBe("queued");
    expect(await dispatcherPlace(j1.id, shardName(pool, 0))).toBe("absent");

    // Hosts that never heartbeat run nothing, so the jobs stay where they are.
    const a = track(await registerFakeHost(1, undefined, pool));
    const b = track(await registerFakeHost(1, undefined, pool));
    expect([await storedShard("gpu_hosts", a.id), await storedShard("gpu_hosts", b.id)].sort()).toEqual([0, 1]);
    const hosts = (await (await adminCall("/v1/admin/hosts")).json()) as { data: Json[] };
    expect(
      hosts.data
        .filter((h) => h.pool === pool)
        .map((h) => h.dispatcher_shard)
        .sort(),
    ).toEqual([0, 1]);

    // The pool's status is both shards' together.
    const read = (await (await adminCall(`/v1/admin/pools/${pool}`)).json()) as Json;
    expect(read).toMatchObject({ dispatcher_shards: 2, status: { queue_depth: 2, live_hosts: 0 } });
    expect(read.status.hosts.map((h: Json) => h.id).sort()).toEqual([a.id, b.id].sort());
  });

  it("reads and cancels a job queued in shard 1 like any other", async ({ expect }) => {
    const pool = await shardedPool(2);
    const t1 = await tenantIn(1, 2);
    const job = await submitTo(t1, pool);
    expect(await view(t1, job.id)).toMatchObject({ status: "queued", queue_position: 0, pool });
    // Another tenant's job is a 404, whichever shard it is in.
    const other = await createTenant();
    expect((await call(`/v1/jobs/${job.id}`, { headers: userHeaders(other.key, "u") })).status).toBe(404);
    const res = await call(`/v1/jobs/${job.id}`, { method: "DELETE", headers: userHeaders(t1.key, "u") });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "cancelled", queue_position: null });
    expect(await dispatcherPlace(job.id, shardName(pool, 1))).toBe("absent");
  });

  it("runs a job queued in a shard without hosts on another shard's free host (stealing)", async ({ expect }) => {
    const pool = await shardedPool(2);
    const t1 = await tenantIn(1, 2);
    const job = await submitTo(t1, pool);
    // The first host goes to shard 0 (fewest hosts, lowest index): shard 1 has none.
    const host = track(await registerFakeHost(1, undefined, pool));
    expect(await storedShard("gpu_hosts", host.id)).toBe(0);
    expect(await dispatcherPlace(job.id, shardName(pool, 1))).toBe("queued");

    // Its first heartbeat finds nothing to run in shard 0, so shard 0 asks shard 1 for work.
    expect((await heartbeat(host)).status).toBe(200);
    const [d] = await waitForDispatches(host, 1);
    expect(d).toMatchObject({ job_id: job.id, attempt: 1 });
    // D1 moved the job to shard 0, which holds its assignment; shard 1 has nothing of it.
    expect(await storedShard("jobs", job.id)).toBe(0);
    expect(await dispatcherPlace(job.id, shardName(pool, 0))).toBe("assigned");
    expect(await dispatcherPlace(job.id, shardName(pool, 1))).toBe("absent");

    // The host's events go to its own shard, as always, and the job ends there.
    expect((await sendEvent(host, eventFor(host, d!, "job.started", { prompt_id: "p" }))).status).toBe(200);
    expect((await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [] }))).status).toBe(200);
    expect(await view(t1, job.id)).toMatchObject({ status: "succeeded", attempt: 1 });
    expect(await dispatcherPlace(job.id, shardName(pool, 0))).toBe("absent");
  });

  it("adopts a job D1 says is in shard 1 only in shard 1 (a receiver that never enqueued a stolen job)", async ({ expect }) => {
    const pool = await shardedPool(2);
    const t0 = await tenantIn(0, 2);
    const job = await submitTo(t0, pool);
    // As if shard 1 had stolen it and then lost it: D1 names shard 1, no object holds it, and
    // it is old enough to be stale.
    await env.DB.prepare("UPDATE jobs SET dispatcher_shard = 1, updated_at = ? WHERE id = ?")
      .bind(Date.now() - 3_600_000, job.id)
      .run();
    await runInDurableObject(env.DISPATCHER.getByName(shardName(pool, 0)), (_i, state) => {
      state.storage.sql.exec("DELETE FROM queue WHERE job_id = ?", job.id);
    });
    for (const k of [0, 1]) {
      const stub = env.DISPATCHER.getByName(shardName(pool, k));
      // Make the next alarm reconcile; set far ahead so only the test runs it (dispatch-pool.test.ts).
      await stub.keepTicking();
      await runInDurableObject(stub, async (instance, state) => {
        (instance as unknown as { lastReconcile: number }).lastReconcile = 0;
        await state.storage.setAlarm(Date.now() + 600_000);
      });
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    }
    expect(await dispatcherPlace(job.id, shardName(pool, 0))).toBe("absent");
    expect(await dispatcherPlace(job.id, shardName(pool, 1))).toBe("queued");
  });
});

describe("a shard lending to a sibling", () => {
  const anyHost = (free: number) => [{ classes: null, models: [], free }];

  it("hands over its fair-next jobs (round-robin across tenants), moved in D1", async ({ expect }) => {
    const pool = await shardedPool(2);
    const a = await tenantIn(1, 2);
    const b = await tenantIn(1, 2);
    const a1 = await submitTo(a, pool);
    const a2 = await submitTo(a, pool);
    const b1 = await submitTo(b, pool);
    const lent = await env.DISPATCHER.getByName(shardName(pool, 1)).lend(0, anyHost(2), 2);
    expect(lent.map((j) => j.jobId)).toEqual([a1.id, b1.id]);
    expect(lent[0]).toMatchObject({ tenantId: a.id, userId: "u", attempts: 0, watched: false });
    expect(await storedShard("jobs", a1.id)).toBe(0);
    expect(await storedShard("jobs", b1.id)).toBe(0);
    expect(await storedShard("jobs", a2.id)).toBe(1);
    expect(await dispatcherPlace(a1.id, shardName(pool, 1))).toBe("absent");
    expect(await dispatcherPlace(a2.id, shardName(pool, 1))).toBe("queued");
  });

  it("lends only what the offers can run, and never to itself", async ({ expect }) => {
    const pool = await shardedPool(2);
    const t = await tenantIn(1, 2);
    const job = await submitTo(t, pool);
    const shard1 = env.DISPATCHER.getByName(shardName(pool, 1));
    expect(await shard1.lend(0, [{ classes: ["SomethingElse"], models: [], free: 4 }], 4)).toEqual([]);
    expect(await shard1.lend(0, anyHost(0), 4)).toEqual([]);
    expect(await shard1.lend(1, anyHost(4), 4)).toEqual([]);
    expect(await dispatcherPlace(job.id, shardName(pool, 1))).toBe("queued");
    expect(await storedShard("jobs", job.id)).toBe(1);
  });

  it("drops a job cancelled before its move (the compare-and-set fails)", async ({ expect }) => {
    const pool = await shardedPool(2);
    const t = await tenantIn(1, 2);
    const job = await submitTo(t, pool);
    // Cancelled in D1 while its dequeue in the shard has not happened yet (as if the cancel's call to the shard were still on its way).
    await env.DB.prepare("UPDATE jobs SET status = 'cancelled' WHERE id = ?").bind(job.id).run();
    expect(await env.DISPATCHER.getByName(shardName(pool, 1)).lend(0, anyHost(1), 1)).toEqual([]);
    expect(await dispatcherPlace(job.id, shardName(pool, 1))).toBe("absent");
    expect(await storedShard("jobs", job.id)).toBe(1);
  });
});

describe("dispatcher_shards", () => {
  it("defaults to 1, can be raised, and is never lowered", async ({ expect }) => {
    const name = `sh-${crypto.randomUUID().slice(0, 8)}`;
    const created = (await (await adminCall("/v1/admin/pools", json({ name }))).json()) as Json;
    expect(created.dispatcher_shards).toBe(1);
    const raised = await patch(name, { dispatcher_shards: 3 });
    expect(raised.status).toBe(200);
    expect(await raised.json()).toMatchObject({ dispatcher_shards: 3 });
    expect((await patch(name, { dispatcher_shards: 3 })).status).toBe(200);
    const lowered = await expectProblem(await patch(name, { dispatcher_shards: 2 }), 409, "conflict");
    expect(lowered.detail).toMatch(/can only be raised/);
    expect(lowered.detail).toMatch(/hosts and queued jobs/);
    // Nothing changed, including the other fields of the refused request.
    await expectProblem(await patch(name, { dispatcher_shards: 1, description: "x" }), 409, "conflict");
    expect((await (await adminCall(`/v1/admin/pools/${name}`)).json()) as Json).toMatchObject({ dispatcher_shards: 3, description: null });
  });

  it("outside 1…16, or not a whole number, is a 422", async () => {
    for (const bad of [0, 17, -1, 1.5, "2", null]) {
      await expectProblem(
        await adminCall("/v1/admin/pools", json({ name: `sh-${crypto.randomUUID().slice(0, 8)}`, dispatcher_shards: bad })),
        422,
        "validation-failed",
      );
    }
    const name = await shardedPool(2);
    await expectProblem(await patch(name, { dispatcher_shards: 17 }), 422, "validation-failed");
    await expectProblem(await patch(name, { dispatcher_shards: 0 }), 422, "validation-failed");
  });

  it("is told to every shard: at a change, and again by the cron (which repairs a lost notice)", async ({ expect }) => {
    const told = (pool: string, k: number) =>
      runInDurableObject(env.DISPATCHER.getByName(shardName(pool, k)), (_i, state) =>
        state.storage.sql
          .exec<{ v: number }>("SELECT value AS v FROM meta WHERE key = 'shards'")
          .toArray()
          .map((r) => r.v),
      );
    const pool = await shardedPool(2);
    expect(await told(pool, 0)).toEqual([2]);
    expect(await told(pool, 1)).toEqual([2]);
    // Raised behind the shards' backs (as if the PATCH's notice were lost): the cron tells them.
    await env.DB.prepare("UPDATE pools SET dispatcher_shards = 3 WHERE name = ?").bind(pool).run();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "* * * * *" }), env as unknown as Env, ctx);
    await waitOnExecutionContext(ctx);
    for (const k of [0, 1, 2]) expect(await told(pool, k)).toEqual([3]);
  });

  it("of DEFAULT_POOL can be raised too (it gets a row)", async ({ expect }) => {
    const read = (await (await adminCall("/v1/admin/pools/default")).json()) as Json;
    expect(read.dispatcher_shards).toBeGreaterThanOrEqual(1);
    // Not raised here: other test files submit to the default pool and look into its shard 0.
    expect((await patch("default", { dispatcher_shards: read.dispatcher_shards })).status).toBe(200);
  });
});
