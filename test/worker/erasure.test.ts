// Deletion on request (issue 19.2): erasing one end-user leaves every other user's data (same
// tenant, and another tenant's user of the same id) untouched; deleting a tenant stops its keys at
// once and the sweeper erases all it holds, then the tenant.
import { env } from "cloudflare:workers";
import { beforeEach, describe, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Env } from "../../src/env.ts";
import { createLogger } from "../../src/lib/log.ts";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import { PASS_START, type SweepCursor, sweepStep } from "../../src/retention/sweep.ts";
import { SMALL_PNG } from "../support/ssrf-images.ts";
import { adminCall, call, createTenant, documentedStatuses, expectProblem, json, type TestTenant, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";
import { eventFor, outputDescriptor, sendEvent, type TestHost, uploadOutput, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();
const OUT = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9]);
let dispatched = 0;
beforeEach(() => {
  dispatched = 0;
});

async function runJob(host: TestHost, t: TestTenant, user: string): Promise<string> {
  const res = await call("/v1/jobs", json({ workflow: WORKFLOW }, userHeaders(t.key, user)));
  if (res.status !== 202) throw new Error(`submit ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const d = (await waitForDispatches(host, ++dispatched)).find((x) => x.job_id === id);
  if (!d) throw new Error(`job ${id} was not dispatched`);
  await sendEvent(host, eventFor(host, d, "job.started", { prompt_id: "p" }));
  if ((await uploadOutput(host, d, "out.png", OUT)).status !== 201) throw new Error("output refused");
  await sendEvent(host, eventFor(host, d, "job.succeeded", { outputs: [outputDescriptor("out.png", OUT, toHex(await sha256(OUT)))] }));
  return id;
}

async function upload(t: TestTenant, user: string): Promise<string> {
  const res = await call("/v1/uploads", { method: "POST", body: SMALL_PNG, headers: { ...userHeaders(t.key, user), "Content-Type": "image/png" } });
  if (res.status !== 201) throw new Error(`upload ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

const count = async (sql: string, ...args: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...args)
    .first<{ n: number }>())!.n;
const objectsUnder = async (prefix: string) => (await env.BLOBS.list({ prefix })).objects.length;
const erase = (tenantId: string, user: string) => adminCall(`/v1/admin/tenants/${tenantId}/users/${encodeURIComponent(user)}`, { method: "DELETE" });

async function sweepPass(now = Date.now()): Promise<void> {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error("config");
  let cursor: SweepCursor = PASS_START;
  for (let i = 0; i < 500; i++) {
    const step = await sweepStep({ env: env as Env, config: loaded.config, log: createLogger("error", {}) }, cursor, now);
    cursor = step.cursor;
    if (step.passOver) return;
  }
  throw new Error("the pass did not end");
}

describe("DELETE /v1/admin/tenants/{id}/users/{user_id}", () => {
  it("erases one end-user's jobs and uploads from D1 and R2, and nobody else's", async ({ expect }) => {
    const t = await createTenant();
    const other = await createTenant();
    const host = await liveHost();
    const aliceJobs = [await runJob(host, t, "alice"), await runJob(host, t, "alice")];
    const bobJob = await runJob(host, t, "bob");
    const otherAlice = await runJob(host, other, "alice");
    const aliceUpload = await upload(t, "alice");
    const bobUpload = await upload(t, "bob");

    const res = await erase(t.id, "alice");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      tenant_id: t.id,
      user_id: "alice",
      jobs: 2,
      inputs: 0,
      outputs: 2,
      uploads: 1,
      objects: 3,
      bytes: 2 * OUT.length + SMALL_PNG.length,
      live_jobs: 0,
      complete: true,
    });
    for (const id of aliceJobs) {
      await expectProblem(await call(`/v1/jobs/${id}`, { headers: userHeaders(t.key, "alice") }), 404, "not-found");
      expect(await objectsUnder(`jobs/${t.id}/${id}/`)).toBe(0);
    }
    expect(await count("SELECT count(*) AS n FROM uploads WHERE id = ?", aliceUpload)).toBe(0);
    expect(await env.BLOBS.head(`uploads/${t.id}/${aliceUpload}`)).toBeNull();
    // Bob, and the other tenant's alice, keep everything.
    expect((await call(`/v1/jobs/${bobJob}`, { headers: userHeaders(t.key, "bob") })).status).toBe(200);
    expect(await objectsUnder(`jobs/${t.id}/${bobJob}/`)).toBe(1);
    expect(await env.BLOBS.head(`uploads/${t.id}/${bobUpload}`)).not.toBeNull();
    expect((await call(`/v1/jobs/${otherAlice}`, { headers: userHeaders(other.key, "alice") })).status).toBe(200);
    expect(await objectsUnder(`jobs/${other.id}/${otherAlice}/`)).toBe(1);
    // The listing of the erased user is empty; a repeat erases nothing and says it is complete.
    expect(((await (await call("/v1/jobs", { headers: userHeaders(t.key, "alice") })).json()) as { data: unknown[] }).data).toEqual([]);
    expect(await (await erase(t.id, "alice")).json()).toMatchObject({ jobs: 0, uploads: 0, objects: 0, complete: true });
  });

  it("cancels the user's queued jobs and erases them in the same call", async ({ expect }) => {
    const t = await createTenant();
    // No host serves the pool, so the job stays queued.
    const res = await call("/v1/jobs", json({ workflow: WORKFLOW }, userHeaders(t.key, "carol")));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(await (await erase(t.id, "carol")).json()).toMatchObject({ jobs: 1, live_jobs: 0, complete: true });
    expect(await count("SELECT count(*) AS n FROM jobs WHERE id = ?", id)).toBe(0);
  });

  it("answers 404 for an unknown tenant and 400 for a malformed user id", async ({ expect }) => {
    await expectProblem(await erase("ten_aaaaaaaaaaaaaaaaaaaa", "alice"), 404, "not-found");
    const t = await createTenant();
    const bad = await adminCall(`/v1/admin/tenants/${t.id}/users/${encodeURIComponent(" spaced out")}`, { method: "DELETE" });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
  });
});

describe("DELETE /v1/admin/tenants/{id}", () => {
  it("revokes the tenant's keys at once; the sweeper then erases everything it holds and the tenant", async ({ expect }) => {
    const t = await createTenant();
    const keep = await createTenant();
    const host = await liveHost();
    const job = await runJob(host, t, "u");
    const keptJob = await runJob(host, keep, "u");
    await upload(t, "u");
    // A private model file's bytes, as an upload leaves them.
    await env.BLOBS.put(`tenant-models/${t.id}/sha256/${"a".repeat(64)}`, new Uint8Array(16));
    await env.DB.prepare(
      "INSERT INTO model_blobs (scope, sha256, size, state, source, created_at, updated_at) VALUES (?, ?, 16, 'ready', '{\"kind\":\"upload\"}', 0, 0)",
    )
      .bind(t.id, "a".repeat(64))
      .run();
    await env.DB.prepare("INSERT INTO models (id, scope, folder, name, sha256, created_at) VALUES (?, ?, 'loras', 'x.safetensors', ?, 0)")
      .bind(`mdl_${crypto.randomUUID().slice(0, 8)}`, t.id, "a".repeat(64))
      .run();

    const res = await adminCall(`/v1/admin/tenants/${t.id}`, { method: "DELETE" });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id: t.id, state: "deleting", live_jobs: 0 });
    // Nothing authenticates as it any more, and it cannot be changed or get keys.
    await expectProblem(await call(`/v1/jobs/${job}`, { headers: userHeaders(t.key, "u") }), 401, "unauthenticated");
    expect(((await (await adminCall(`/v1/admin/tenants/${t.id}`)).json()) as { deleted_at: string | null }).deleted_at).not.toBeNull();
    await expectProblem(await adminCall(`/v1/admin/tenants/${t.id}/keys`, { method: "POST" }), 409, "conflict");
    // A status the OpenAPI document lists (test/worker/fuzz.test.ts found it did not).
    expect(await documentedStatuses("POST", "/v1/admin/tenants/{id}/keys")).toContain(409);
    expect((await adminCall(`/v1/admin/tenants/${t.id}`, { method: "DELETE" })).status).toBe(202);

    await sweepPass();
    await expectProblem(await adminCall(`/v1/admin/tenants/${t.id}`), 404, "not-found");
    for (const prefix of [`jobs/${t.id}/`, `uploads/${t.id}/`, `tenant-models/${t.id}/`]) expect(await objectsUnder(prefix)).toBe(0);
    for (const [table, column] of [
      ["jobs", "tenant_id"],
      ["uploads", "tenant_id"],
      ["api_keys", "tenant_id"],
      ["webhook_secrets", "tenant_id"],
      ["tenant_storage", "tenant_id"],
      ["model_blobs", "scope"],
      ["models", "scope"],
    ] as const) {
      expect(await count(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`, t.id)).toBe(0);
    }
    // Another tenant is untouched.
    expect((await call(`/v1/jobs/${keptJob}`, { headers: userHeaders(keep.key, "u") })).status).toBe(200);
    await expectProblem(await adminCall(`/v1/admin/tenants/${t.id}`, { method: "DELETE" }), 404, "not-found");
  });
});
