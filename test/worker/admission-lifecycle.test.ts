// Slots are released exactly once per job, failed writes never hold one, leases reconcile against
// D1, idempotent submits take one slot, and admission fails closed.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { ACTIVE_LEASE_MS, IDEMPOTENCY_TTL_MS } from "../../durable-objects/tenant-quota.ts";
import { createApp } from "../../src/app.ts";
import { installClock, type TestClock } from "../support/clock.ts";
import { call, createTenant, expectProblem, json, submit, submitOk, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";

const usage = async (key: string, user: string) =>
  (await (await call("/v1/usage", { headers: userHeaders(key, user) })).json()) as {
    user_active_jobs: number;
    tenant_active_jobs: number;
    submissions_last_minute: number;
  };
const cancel = (key: string, user: string, id: string) => call(`/v1/jobs/${id}`, { method: "DELETE", headers: userHeaders(key, user) });

/** Limits handed to TenantQuota directly (admission reads only the ones it enforces). */
const LIMITS = {
  max_active_jobs_per_user: 5,
  max_active_jobs_per_tenant: 50,
  requests_per_minute: 120,
  uploads_per_day: 100,
  upload_bytes_per_day: 1e9,
  model_files: 4,
  model_bytes: 1e5,
  gpu_seconds_per_month: 0,
  retention_days: 30,
  storage_bytes: 2 ** 40,
};

describe("release", () => {
  it("cancelling one active job admits exactly one more", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 5 } });
    const jobs = await Promise.all(Array.from({ length: 5 }, () => submitOk(t.key, "c")));
    expect((await cancel(t.key, "c", jobs[0]!.id)).status).toBe(200);
    // Cancelling again (idempotent) must not free a second slot.
    expect((await cancel(t.key, "c", jobs[0]!.id)).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 10 }, () => submit(t.key, "c")));
    expect(burst.filter((r) => r.status === 202).length).toBe(1);
    expect((await usage(t.key, "c")).user_active_jobs).toBe(5);
  });

  it("releases exactly once per job id, whoever calls", async ({ expect }) => {
    const t = await createTenant();
    const job = await submitOk(t.key, "r");
    const stub = env.TENANT_QUOTA.getByName(t.id);
    const results = await Promise.all([stub.release(job.id), stub.release(job.id), stub.release(job.id)]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe("a failed write after admission", () => {
  it("releases the slot at once and leaves nothing behind", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 1 } });
    // Fault injection: a D1 binding whose batch (the job insert) fails, everything else real.
    const failingDb = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch")
          return async () => {
            throw new Error("D1_ERROR: injected insert failure");
          };
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const original = console.error;
    console.error = () => {};
    try {
      const res = await createApp().request("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "f"), "Idempotency-Key": '"retry-me"' }), {
        ...env,
        DB: failingDb,
      });
      await expectProblem(res, 503, "unavailable");
      expect(res.headers.get("Retry-After")).toBe("2");
    } finally {
      console.error = original;
    }
    expect(await usage(t.key, "f")).toMatchObject({ user_active_jobs: 0, submissions_last_minute: 0 });
    // The same request retried with the same key is a fresh submit that succeeds.
    const retry = await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "f"), "Idempotency-Key": '"retry-me"' }));
    expect(retry.status).toBe(202);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
  });
});

describe("lease reconciliation", () => {
  // Every reservation's lease (pending or active) has run out once the clock moves this far.
  const pastLeases = (clock: TestClock) => clock.advance(ACTIVE_LEASE_MS);

  it("frees a reservation whose job is terminal in D1 (release never arrived)", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 1 } });
    const clock = await installClock(env.TENANT_QUOTA.getByName(t.id));
    const job = await submitOk(t.key, "lease");
    await env.DB.prepare("UPDATE jobs SET status = 'failed', finished_at = ? WHERE id = ?").bind(Date.now(), job.id).run();
    expect((await submit(t.key, "lease")).status).toBe(429);
    pastLeases(clock);
    expect(await runDurableObjectAlarm(env.TENANT_QUOTA.getByName(t.id))).toBe(true);
    expect((await usage(t.key, "lease")).user_active_jobs).toBe(0);
    expect((await submit(t.key, "lease")).status).toBe(202);
  });

  it("frees a reservation whose job row was never written", async ({ expect }) => {
    const t = await createTenant();
    const stub = env.TENANT_QUOTA.getByName(t.id);
    const clock = await installClock(stub);
    const limits = LIMITS;
    const admitted = await stub.admit({ jobId: "job_neverwrittenxxxxxxx", userId: "ghost", limits });
    expect(admitted.ok).toBe(true);
    expect((await usage(t.key, "ghost")).user_active_jobs).toBe(1);
    pastLeases(clock);
    await runDurableObjectAlarm(stub);
    expect((await usage(t.key, "ghost")).user_active_jobs).toBe(0);
  });

  it("renews the lease of a job that is still active, and re-arms the alarm", async ({ expect }) => {
    const t = await createTenant();
    const stub = env.TENANT_QUOTA.getByName(t.id);
    const clock = await installClock(stub);
    await submitOk(t.key, "alive");
    pastLeases(clock);
    await runDurableObjectAlarm(stub);
    expect((await usage(t.key, "alive")).user_active_jobs).toBe(1);
    const [lease, alarm] = await runInDurableObject(stub, async (_i, state) => [
      state.storage.sql.exec<{ state: string; lease: number }>("SELECT state, lease_expires_at AS lease FROM reservations").one(),
      await state.storage.getAlarm(),
    ]);
    expect(lease).toMatchObject({ state: "active", lease: clock.now() + ACTIVE_LEASE_MS });
    // The alarm (wall time) is due when the renewed lease runs out: ACTIVE_LEASE_MS after the renewal.
    expect(alarm).toBeLessThanOrEqual(Date.now() + ACTIVE_LEASE_MS);
    expect(alarm).toBeGreaterThan(Date.now() + ACTIVE_LEASE_MS - 100_000);
  });
});

describe("Idempotency-Key", () => {
  it("the same key ×8 concurrently makes one job and takes one slot", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 5 } });
    const headers = { ...userHeaders(t.key, "idem"), "Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"' };
    const responses = await Promise.all(Array.from({ length: 8 }, () => call("/v1/jobs", json({ workflow: WORKFLOW }, headers))));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
    const ids = new Set((await Promise.all(responses.filter((r) => r.status === 202).map((r) => r.json() as Promise<{ id: string }>))).map((b) => b.id));
    expect(ids.size).toBe(1);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(count?.n).toBe(1);
    expect(await usage(t.key, "idem")).toMatchObject({ user_active_jobs: 1, submissions_last_minute: 1 });

    // A later retry replays the original job.
    const replay = await call("/v1/jobs", json({ workflow: WORKFLOW }, headers));
    expect(replay.status).toBe(202);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(((await replay.json()) as { id: string }).id).toBe([...ids][0]);
  });

  it("a replay of a concurrent duplicate that is still in flight is a 409", async ({ expect }) => {
    const t = await createTenant();
    const stub = env.TENANT_QUOTA.getByName(t.id);
    // Admitted but not yet written: exactly the window a concurrent duplicate can hit.
    const limits = LIMITS;
    const { requestFingerprint } = await import("../../src/admission/idempotency-key.ts");
    const fingerprint = await requestFingerprint("inflight", { workflow: WORKFLOW });
    await stub.admit({ jobId: "job_inflightxxxxxxxxxxx", userId: "inflight", limits, idempotency: { key: "k-1", fingerprint } });
    const res = await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "inflight"), "Idempotency-Key": "k-1" }));
    await expectProblem(res, 409, "idempotency-key-in-flight");
    expect(res.headers.get("Retry-After")).toBe("1");
  });

  it("the same key with a different body is a 422; another user's same key is a new request", async ({ expect }) => {
    const t = await createTenant();
    const key = { "Idempotency-Key": '"order-77"' };
    const first = await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "u1"), ...key }));
    expect(first.status).toBe(202);
    await expectProblem(
      await call("/v1/jobs", json({ workflow: WORKFLOW, metadata: { x: 1 } }, { ...userHeaders(t.key, "u1"), ...key })),
      422,
      "idempotency-key-reused",
    );
    // Keys are scoped to (tenant, user): u2 did not send this request before.
    const other = await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "u2"), ...key }));
    expect(other.status).toBe(202);
    expect(other.headers.get("Idempotent-Replayed")).toBeNull();
    expect(((await other.json()) as { id: string }).id).not.toBe(((await first.json()) as { id: string }).id);
    // And u2's own retry replays u2's job.
    const again = await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "u2"), ...key }));
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("treats key order in the body as the same request", async ({ expect }) => {
    const t = await createTenant();
    const key = { "Idempotency-Key": '"same-json"' };
    const a = await call("/v1/jobs", json({ workflow: WORKFLOW, metadata: { a: 1, b: 2 } }, { ...userHeaders(t.key, "u"), ...key }));
    const b = await call("/v1/jobs", json({ metadata: { b: 2, a: 1 }, workflow: WORKFLOW }, { ...userHeaders(t.key, "u"), ...key }));
    expect(b.status).toBe(202);
    expect(((await b.json()) as { id: string }).id).toBe(((await a.json()) as { id: string }).id);
  });

  it("keys are scoped to the tenant", async ({ expect }) => {
    const a = await createTenant();
    const b = await createTenant();
    const key = { "Idempotency-Key": '"shared-key"' };
    const ra = (await (await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(a.key, "u"), ...key }))).json()) as { id: string };
    const rb = (await (await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(b.key, "u"), ...key }))).json()) as { id: string };
    expect(ra.id).not.toBe(rb.id);
  });

  it("expires after 24 hours", async ({ expect }) => {
    const t = await createTenant();
    const clock = await installClock(env.TENANT_QUOTA.getByName(t.id));
    const key = { "Idempotency-Key": '"old-key"' };
    const first = (await (await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "u"), ...key }))).json()) as { id: string };
    clock.advance(IDEMPOTENCY_TTL_MS);
    const again = (await (await call("/v1/jobs", json({ workflow: WORKFLOW, metadata: { new: true } }, { ...userHeaders(t.key, "u"), ...key }))).json()) as {
      id: string;
    };
    expect(again.id).not.toBe(first.id);
  });

  it.each([['""'], [`"${"x".repeat(256)}"`], ['"bad\u0001"'], ['"a"b"']])("rejects a malformed key %j", async (value) => {
    const t = await createTenant();
    await expectProblem(
      await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "u"), "Idempotency-Key": value })),
      400,
      "invalid-idempotency-key",
    );
  });
});

describe("fail closed", () => {
  it("refuses the submit with 503 when the quota object cannot be reached, and writes nothing", async ({ expect }) => {
    const t = await createTenant();
    // Fault injection: a TenantQuota binding whose calls fail, as when the object is unreachable.
    const unreachable = {
      getByName: () => ({
        admit: async () => {
          throw new Error("Durable Object reset because its code was updated");
        },
      }),
    };
    const original = console.error;
    console.error = () => {};
    let res: Response;
    try {
      res = await createApp().request("/v1/jobs", json({ workflow: WORKFLOW }, userHeaders(t.key, "closed")), { ...env, TENANT_QUOTA: unreachable });
    } finally {
      console.error = original;
    }
    await expectProblem(res, 503, "unavailable");
    expect(res.headers.get("Retry-After")).toEqual(expect.any(String));
    const count = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });
});
