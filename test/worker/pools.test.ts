// Pools are real (issue 13.1): created by operators, hosts register into one, tenants have a
// default and allowed pools, a submit names one, and each pool's Dispatcher sees only its jobs.
import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import type { Env } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { adminCall, call, createTenant, expectProblem, json, submit, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";
import { dispatcherPlace, dispatchesTo, heartbeat, registerFakeHost, registerHost, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { track } = useTestHosts();

const poolName = (prefix = "p") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
type Json = Record<string, any>;

async function createPool(body: Json): Promise<Json> {
  const res = await adminCall("/v1/admin/pools", json(body));
  if (res.status !== 201) throw new Error(`pool create: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

const patch = (path: string, body: unknown) => adminCall(path, { ...json(body), method: "PATCH" });

async function submitTo(key: string, user: string, pool?: string): Promise<Response> {
  return submit(key, user, { workflow: WORKFLOW, ...(pool ? { pool } : {}) });
}

describe("admin pools", () => {
  it("creates, lists, reads and changes a pool; its name never changes", async ({ expect }) => {
    const name = poolName("l4");
    const created = await createPool({ name, description: "L4 hosts", gpu: { model: "NVIDIA L4", vram_gb: 24 }, queue_timeout_seconds: 1200 });
    expect(created).toMatchObject({
      name,
      description: "L4 hosts",
      gpu: { model: "NVIDIA L4", vram_gb: 24 },
      queue_timeout_seconds: 1200,
      effective_queue_timeout_seconds: 1200,
      is_default: false,
      status: { hosts: [], live_hosts: 0, queue_depth: 0 },
    });

    const list = (await (await adminCall("/v1/admin/pools")).json()) as { data: Json[] };
    expect(list.data.map((p) => p.name)).toEqual(expect.arrayContaining(["default", name]));
    expect(list.data.find((p) => p.name === "default")).toMatchObject({ is_default: true, created_at: null });

    const changed = await patch(`/v1/admin/pools/${name}`, { description: null, queue_timeout_seconds: null, gpu: { model: "L4", vram_gb: 23 } });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({
      name,
      description: null,
      queue_timeout_seconds: null,
      effective_queue_timeout_seconds: 900,
      gpu: { vram_gb: 23 },
    });

    await expectProblem(await patch(`/v1/admin/pools/${name}`, { name: "renamed" }), 422, "validation-failed");
    const read = (await (await adminCall(`/v1/admin/pools/${name}`)).json()) as Json;
    expect(read).toMatchObject({ name, gpu: { model: "L4", vram_gb: 23 } });
  });

  it("refuses bad input, duplicates, unknown pools and callers without the admin token", async () => {
    await expectProblem(await adminCall("/v1/admin/pools", json({ name: "Bad_Name" })), 422, "validation-failed");
    await expectProblem(await adminCall("/v1/admin/pools", json({ name: poolName(), queue_timeout_seconds: 0 })), 422, "validation-failed");
    await expectProblem(await adminCall("/v1/admin/pools", json({ name: poolName(), gpu: { model: "x" } })), 422, "validation-failed");
    const name = poolName();
    await createPool({ name });
    await expectProblem(await adminCall("/v1/admin/pools", json({ name })), 409, "conflict");
    await expectProblem(await adminCall("/v1/admin/pools", json({ name: "default" })), 409, "conflict");
    await expectProblem(await adminCall("/v1/admin/pools/no-such-pool"), 404, "not-found");
    await expectProblem(await patch("/v1/admin/pools/no-such-pool", { description: "x" }), 404, "not-found");
    await expectProblem(await call("/v1/admin/pools"), 401, "unauthenticated");
    await expectProblem(await call("/v1/admin/pools", { headers: { Authorization: "Bearer not-the-token" } }), 401, "unauthenticated");
  });

  it("DEFAULT_POOL exists without being created, and a change gives it a row", async ({ expect }) => {
    const read = (await (await adminCall("/v1/admin/pools/default")).json()) as Json;
    expect(read).toMatchObject({ name: "default", is_default: true });
    const res = await patch("/v1/admin/pools/default", { description: "the default pool" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "default", description: "the default pool", created_at: expect.any(String) });
    await patch("/v1/admin/pools/default", { description: null });
  });

  it("is in the OpenAPI document", async ({ expect }) => {
    const doc = (await (await call("/openapi.json")).json()) as Json;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/admin/pools", "/v1/admin/pools/{name}"]));
    expect(doc.components.schemas.SubmitJob.properties.pool).toBeDefined();
    expect(doc.components.schemas.Job.properties.pool).toBeDefined();
  });
});

describe("hosts register into a pool", () => {
  it("that exists; an unknown pool is a 422 and nothing is registered", async ({ expect }) => {
    const id = `gpu-${crypto.randomUUID().slice(0, 8)}`;
    const res = await adminCall("/v1/admin/hosts", json({ id, url: "https://gpu.example.com", pool: "no-such-pool" }));
    await expectProblem(res, 422, "unknown-pool");
    const hosts = (await (await adminCall("/v1/admin/hosts")).json()) as { data: Json[] };
    expect(hosts.data.some((h) => h.id === id)).toBe(false);

    const pool = poolName();
    await createPool({ name: pool });
    const host = track(await registerHost(undefined, 2, "https://gpu.example.com", pool));
    await heartbeat(host);
    const read = (await (await adminCall(`/v1/admin/pools/${pool}`)).json()) as Json;
    expect(read.status).toMatchObject({ hosts: [{ id: host.id, live: true, slots: 2 }], live_hosts: 1 });
    const def = (await (await adminCall("/v1/admin/pools/default")).json()) as Json;
    expect(def.status.hosts.some((h: Json) => h.id === host.id)).toBe(false);
  });
});

describe("tenants' pools", () => {
  it("default_pool and allowed_pools are set, shown and checked", async ({ expect }) => {
    const a = poolName("a");
    const b = poolName("b");
    await createPool({ name: a });
    await createPool({ name: b });
    const res = await adminCall("/v1/admin/tenants", json({ name: "pooled", default_pool: a, allowed_pools: [a, b] }));
    expect(res.status).toBe(201);
    const t = (await res.json()) as Json;
    expect(t).toMatchObject({ default_pool: a, effective_default_pool: a, allowed_pools: [a, b] });

    const plain = await createTenant();
    const plainView = (await (await adminCall(`/v1/admin/tenants/${plain.id}`)).json()) as Json;
    expect(plainView).toMatchObject({ default_pool: null, effective_default_pool: "default", allowed_pools: null });

    // Unknown pools, a default outside allowed_pools (given or implied), and the merged result of a PATCH.
    const unknown = await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "x", allowed_pools: [a, "nope-pool"] })), 422, "unknown-pool");
    expect(unknown.errors).toEqual([{ pointer: "/allowed_pools/1", detail: expect.stringContaining("nope-pool") }]);
    await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "x", default_pool: "nope-pool" })), 422, "unknown-pool");
    const outside = await expectProblem(
      await adminCall("/v1/admin/tenants", json({ name: "x", default_pool: a, allowed_pools: [b] })),
      422,
      "validation-failed",
    );
    expect(outside.detail).toMatch(/default_pool .* is not in allowed_pools/);
    await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "x", allowed_pools: [b] })), 422, "validation-failed");
    await expectProblem(await patch(`/v1/admin/tenants/${t.id}`, { allowed_pools: [b] }), 422, "validation-failed");
    await expectProblem(await adminCall("/v1/admin/tenants", json({ name: "x", allowed_pools: ["Bad Name"] })), 422, "validation-failed");

    const moved = await patch(`/v1/admin/tenants/${t.id}`, { default_pool: b, allowed_pools: [b] });
    expect(moved.status).toBe(200);
    expect(await moved.json()).toMatchObject({ default_pool: b, allowed_pools: [b] });
    const reset = await patch(`/v1/admin/tenants/${t.id}`, { default_pool: null, allowed_pools: null });
    expect(await reset.json()).toMatchObject({ default_pool: null, effective_default_pool: "default", allowed_pools: null });
  });
});

describe("submitting to a pool", () => {
  it("resolves body.pool, then the tenant's default_pool, then DEFAULT_POOL; the job view shows it", async ({ expect }) => {
    const a = poolName("a");
    await createPool({ name: a });
    const plain = await createTenant();
    const toDefault = await submitTo(plain.key, "u");
    expect(toDefault.status).toBe(202);
    const dj = (await toDefault.json()) as Json;
    expect(dj.pool).toBe("default");
    const toA = (await (await submitTo(plain.key, "u", a)).json()) as Json;
    expect(toA.pool).toBe(a);
    expect(await dispatcherPlace(toA.id, a)).toBe("queued");
    expect(await dispatcherPlace(toA.id, "default")).toBe("absent");

    const pinned = await createTenant({ default_pool: a });
    const pj = (await (await submitTo(pinned.key, "u")).json()) as Json;
    expect(pj.pool).toBe(a);
    const got = (await (await call(`/v1/jobs/${pj.id}`, { headers: userHeaders(pinned.key, "u") })).json()) as Json;
    expect(got.pool).toBe(a);
    const listed = (await (await call("/v1/jobs", { headers: userHeaders(pinned.key, "u") })).json()) as { data: Json[] };
    expect(listed.data[0]).toMatchObject({ id: pj.id, pool: a });
  });

  it("refuses a pool outside allowed_pools (pool-not-allowed) and one that does not exist (unknown-pool), taking no slot", async ({ expect }) => {
    const a = poolName("a");
    const b = poolName("b");
    await createPool({ name: a });
    await createPool({ name: b });
    const restricted = await createTenant({ default_pool: a, allowed_pools: [a], limits: { max_active_jobs_per_user: 1 } });
    const refused = await expectProblem(await submitTo(restricted.key, "u", b), 422, "pool-not-allowed");
    expect(refused).toMatchObject({ pool: b, allowed_pools: [a], errors: [{ pointer: "/pool" }] });
    await expectProblem(await submitTo(restricted.key, "u", "default"), 422, "pool-not-allowed");
    // A restricted tenant learns nothing about pools outside its list: an unknown one reads the same.
    await expectProblem(await submitTo(restricted.key, "u", "no-such-pool"), 422, "pool-not-allowed");
    const open = await createTenant({ limits: { max_active_jobs_per_user: 1 } });
    const unknown = await expectProblem(await submitTo(open.key, "u", "no-such-pool"), 422, "unknown-pool");
    expect(unknown.detail).toMatch(/no GPU pool "no-such-pool"/);
    await expectProblem(await submit(open.key, "u", { workflow: WORKFLOW, pool: "Not A Name" }), 422, "validation-failed");
    // None of the refusals held the one slot each has.
    expect((await submitTo(restricted.key, "u", a)).status).toBe(202);
    expect((await submitTo(open.key, "u")).status).toBe(202);
  });

  it("uses the pool's queue_timeout_seconds for the queue deadline", async ({ expect }) => {
    const a = poolName("a");
    await createPool({ name: a, queue_timeout_seconds: 60 });
    const t = await createTenant();
    const before = Date.now();
    const job = (await (await submitTo(t.key, "u", a)).json()) as Json;
    const deadline = Date.parse(job.queue_deadline_at) - Date.parse(job.created_at);
    expect(deadline).toBe(60_000);
    expect(Date.parse(job.created_at)).toBeGreaterThanOrEqual(before - 1000);
    const plain = (await (await submitTo(t.key, "u")).json()) as Json;
    expect(Date.parse(plain.queue_deadline_at) - Date.parse(plain.created_at)).toBe(900_000);
  });
});

describe("two pools with a host each", () => {
  it("a job lands only on its pool's host, and the other pool's Dispatcher never sees it", async ({ expect }) => {
    const a = poolName("a");
    const b = poolName("b");
    await createPool({ name: a });
    await createPool({ name: b });
    const hostA = track(await registerFakeHost(1, undefined, a));
    const hostB = track(await registerFakeHost(1, undefined, b));
    await heartbeat(hostA);
    await heartbeat(hostB);
    const t = await createTenant({ default_pool: a, allowed_pools: [a, b] });

    const jobB = (await (await submitTo(t.key, "u", b)).json()) as Json;
    const [d] = await waitForDispatches(hostB, 1);
    expect(d).toMatchObject({ job_id: jobB.id });
    expect(await dispatcherPlace(jobB.id, b)).toBe("assigned");
    expect(await dispatcherPlace(jobB.id, a)).toBe("absent");

    const jobA = (await (await submitTo(t.key, "u")).json()) as Json;
    const [dA] = await waitForDispatches(hostA, 1);
    expect(dA).toMatchObject({ job_id: jobA.id });
    expect(await dispatcherPlace(jobA.id, b)).toBe("absent");
    // Neither host got the other pool's job.
    expect((await dispatchesTo(hostA)).map((x) => x.job_id)).toEqual([jobA.id]);
    expect((await dispatchesTo(hostB)).map((x) => x.job_id)).toEqual([jobB.id]);
    // Pool A's Dispatcher never held B's job, in any table.
    const seenByA = await runInDurableObject(env.DISPATCHER.getByName(a), (_i, state) =>
      ["queue", "assignments"].flatMap((table) =>
        state.storage.sql
          .exec(`SELECT job_id FROM ${table}`)
          .toArray()
          .map((r) => r.job_id),
      ),
    );
    expect(seenByA).not.toContain(jobB.id);

    // A tenant restricted to A cannot use B even with B's host idle.
    const onlyA = await createTenant({ default_pool: a, allowed_pools: [a] });
    await expectProblem(await submitTo(onlyA.key, "u", b), 422, "pool-not-allowed");
  });

  it("the admin views and /health cover every pool", async ({ expect }) => {
    const a = poolName("a");
    await createPool({ name: a });
    const host = track(await registerFakeHost(1, undefined, a));
    await heartbeat(host);
    const hosts = (await (await adminCall("/v1/admin/hosts")).json()) as { data: Json[] };
    expect(hosts.data.find((h) => h.id === host.id)).toMatchObject({ pool: a, live: true });
    const health = (await (await adminCall("/health")).json()) as Json;
    expect(health.components.pools[a]).toMatchObject({ status: "ok", hosts: 1, live_hosts: 1 });
    expect(health.components.pools.default).toBeDefined();
    // A created pool without hosts is reported too (down, with the reason).
    const empty = poolName("empty");
    await createPool({ name: empty });
    const again = (await (await adminCall("/health")).json()) as Json;
    expect(again.components.pools[empty]).toMatchObject({ status: "down", detail: "no GPU host is registered" });
  });
});

describe("cron", () => {
  it("keeps every pool's Dispatcher ticking, created pools without hosts included", async ({ expect }) => {
    const a = poolName("a");
    await createPool({ name: a });
    const b = poolName("b");
    await createPool({ name: b });
    const hostB = track(await registerFakeHost(1, undefined, b));
    await heartbeat(hostB);
    const workerEnv = env as unknown as Env;
    for (const p of [a, b, "default"]) {
      await runInDurableObject(workerEnv.DISPATCHER.getByName(p), async (_i, state) => {
        await state.storage.deleteAlarm();
      });
    }
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "* * * * *" }), workerEnv, ctx);
    await waitOnExecutionContext(ctx);
    for (const p of [a, b, "default"]) {
      const alarm = await runInDurableObject(workerEnv.DISPATCHER.getByName(p), async (_i, state) => state.storage.getAlarm());
      expect(alarm, p).toEqual(expect.any(Number));
    }
  });
});
