// Retention (issue 19.1): the sweep erases jobs that ended more than their tenant's retention_days
// ago from D1, R2 and their JobFeed, and uploads past their expiry; newer jobs, live jobs and
// other tenants' stay. Steps are run with the time the test chooses, and a step stopped half-way
// resumes without erasing anything twice.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { createDb } from "../../src/db/client.ts";
import { endedBeforeQuery, endedJobsQuery } from "../../src/db/retention.ts";
import type { Env } from "../../src/env.ts";
import { createLogger } from "../../src/lib/log.ts";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import { PASS_START, type SweepCursor, sweepStep } from "../../src/retention/sweep.ts";
import { SMALL_PNG } from "../support/ssrf-images.ts";
import { adminCall, call, createTenant, expectProblem, json, queryPlan, type TestTenant, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";
import { eventFor, outputDescriptor, sendEvent, type TestHost, uploadOutput, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();
const DAY = 86_400_000;
const OUT = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const withImage = (image: string) => ({
  workflow: {
    "1": { class_type: "LoadImage", inputs: { image } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "r" } },
  },
});

function config(over: Partial<Config> = {}): Config {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.problems.join("; "));
  return { ...loaded.config, ...over };
}
const log = createLogger("error", { component: "test" });

/** One whole pass at `now` (bounded). */
async function sweepPass(now: number, over: Partial<Config> = {}, testEnv: Env = env as Env) {
  let cursor: SweepCursor = PASS_START;
  for (let i = 0; i < 500; i++) {
    const step = await sweepStep({ env: testEnv, config: config(over), log }, cursor, now);
    cursor = step.cursor;
    if (step.passOver) return;
  }
  throw new Error("the pass did not end");
}

/** Runs a job to success on `host` with one output; `n` is the count of dispatches the host will have had. */
async function runJob(host: TestHost, n: number, t: TestTenant, user: string, body: unknown = { workflow: WORKFLOW }): Promise<string> {
  const res = await call("/v1/jobs", json(body, userHeaders(t.key, user)));
  if (res.status !== 202) throw new Error(`submit ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const d = (await waitForDispatches(host, n)).find((x) => x.job_id === id);
  if (!d) throw new Error(`job ${id} was not dispatched`);
  await sendEvent(host, eventFor(host, d, "job.started", { prompt_id: "p" }));
  const put = await uploadOutput(host, d, "out.png", OUT);
  if (put.status !== 201) throw new Error(`output ${put.status}`);
  await sendEvent(host, eventFor(host, d, "job.succeeded", { outputs: [outputDescriptor("out.png", OUT, toHex(await sha256(OUT)))] }));
  return id;
}

const endedAt = (id: string, at: number) => env.DB.prepare("UPDATE jobs SET finished_at = ? WHERE id = ?").bind(at, id).run();
const rows = async (sql: string, ...args: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...args)
    .first<{ n: number }>())!.n;
const objectsUnder = async (prefix: string) => (await env.BLOBS.list({ prefix })).objects.map((o) => o.key);
/** Events the job's JobFeed holds (an erased feed has no tables at all). */
const feedEvents = (id: string) =>
  runInDurableObject(env.JOB_FEED.getByName(id), (_i, state) => {
    const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'events'").toArray();
    return tables.length === 0 ? 0 : state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM events").one().n;
  });
const stored = (tenantId: string) => rows("SELECT COALESCE(SUM(bytes), 0) AS n FROM tenant_storage WHERE tenant_id = ?", tenantId);

describe("retention sweep", () => {
  it("erases jobs past their tenant's retention from D1, R2 and the event log; newer, live and other tenants' jobs stay", async ({ expect }) => {
    const a = await createTenant();
    const b = await createTenant({ limits: { retention_days: 90 } });
    const host = await liveHost();
    const upload = (await (
      await call("/v1/uploads", { method: "POST", body: SMALL_PNG, headers: { ...userHeaders(a.key, "u"), "Content-Type": "image/png" } })
    ).json()) as { id: string };

    const old = await runJob(host, 1, a, "u", withImage(`data:image/png;base64,${b64(SMALL_PNG)}`));
    const oldWithUpload = await runJob(host, 2, a, "u", withImage(`upload:${upload.id}`));
    const recent = await runJob(host, 3, a, "u");
    const otherTenant = await runJob(host, 4, b, "u");
    const liveRes = await call("/v1/jobs", json({ workflow: WORKFLOW }, userHeaders(a.key, "u")));
    const live = ((await liveRes.json()) as { id: string }).id;
    const now = Date.now();
    await endedAt(old, now - 31 * DAY);
    await endedAt(oldWithUpload, now - 40 * DAY);
    await endedAt(recent, now - 20 * DAY);
    await endedAt(otherTenant, now - 60 * DAY);
    expect(await objectsUnder(`jobs/${a.id}/${old}/`)).toHaveLength(2); // its input and its output
    expect(await feedEvents(old)).toBeGreaterThan(0);
    const storedBefore = await stored(a.id);
    expect(storedBefore).toBe(3 * OUT.length + SMALL_PNG.length); // three outputs and the upload

    await sweepPass(now);
    for (const id of [old, oldWithUpload]) {
      expect((await call(`/v1/jobs/${id}`, { headers: userHeaders(a.key, "u") })).status).toBe(404);
      expect(await rows("SELECT count(*) AS n FROM jobs WHERE id = ?", id)).toBe(0);
      for (const table of ["job_workflows", "job_inputs", "job_outputs", "webhook_messages"]) {
        expect(await rows(`SELECT count(*) AS n FROM ${table} WHERE job_id = ?`, id)).toBe(0);
      }
      expect(await objectsUnder(`jobs/${a.id}/${id}/`)).toEqual([]);
      expect(await feedEvents(id)).toBe(0);
    }
    // Two outputs fewer count against the quota; the upload itself is still there (not expired).
    expect(await stored(a.id)).toBe(storedBefore - 2 * OUT.length);
    expect(await env.BLOBS.head(`uploads/${a.id}/${upload.id}`)).not.toBeNull();
    for (const [t, id] of [
      [a, recent],
      [b, otherTenant],
      [a, live],
    ] as const) {
      expect((await call(`/v1/jobs/${id}`, { headers: userHeaders(t.key, "u") })).status).toBe(200);
    }
    expect(await objectsUnder(`jobs/${a.id}/${recent}/`)).toHaveLength(1);
    expect(await objectsUnder(`jobs/${b.id}/${otherTenant}/`)).toHaveLength(1);

    // Two days on the upload has expired: its row and (no job needing it any more) its object go.
    await sweepPass(now + 2 * DAY);
    expect(await env.BLOBS.head(`uploads/${a.id}/${upload.id}`)).toBeNull();
    expect(await rows("SELECT count(*) AS n FROM uploads WHERE id = ?", upload.id)).toBe(0);
    const jobsOf = async (t: TestTenant) =>
      (await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ? ORDER BY id").bind(t.id).all<{ id: string }>()).results.map((r) => r.id);
    expect(await jobsOf(a)).toEqual([recent, live].sort());
    // Each tenant's own window: at 49 days A's `recent` goes, B's job (90 days) stays until it is 91 days old.
    await sweepPass(now + 29 * DAY);
    expect(await jobsOf(a)).toEqual([live]);
    expect(await jobsOf(b)).toEqual([otherTenant]);
    await sweepPass(now + 31 * DAY);
    expect(await jobsOf(b)).toEqual([]);
    expect(await objectsUnder(`jobs/${b.id}/`)).toEqual([]);
    expect(await objectsUnder(`jobs/${a.id}/${recent}/`)).toEqual([]);
    // The live job ends, so it takes no later test's host.
    const d = (await waitForDispatches(host, 5)).find((x) => x.job_id === live)!;
    await sendEvent(host, eventFor(host, d, "job.started", { prompt_id: "p" }));
    await sendEvent(host, eventFor(host, d, "job.succeeded", { outputs: [] }));
  });

  it("keeps an expired upload's object while a job that takes it as input is kept", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const upload = (await (
      await call("/v1/uploads", { method: "POST", body: SMALL_PNG, headers: { ...userHeaders(t.key, "u"), "Content-Type": "image/png" } })
    ).json()) as { id: string };
    const job = await runJob(host, 1, t, "u", withImage(`upload:${upload.id}`));
    const now = Date.now();
    await endedAt(job, now);
    // The upload expires (row erased) while the job is kept: the job's input is still in R2.
    await sweepPass(now + 2 * DAY);
    expect(await rows("SELECT count(*) AS n FROM uploads WHERE id = ?", upload.id)).toBe(0);
    expect(await env.BLOBS.head(`uploads/${t.id}/${upload.id}`)).not.toBeNull();
    expect(await rows("SELECT count(*) AS n FROM jobs WHERE id = ?", job)).toBe(1);
    // When the job goes, nothing needs the object any more.
    await sweepPass(now + 31 * DAY);
    expect(await rows("SELECT count(*) AS n FROM jobs WHERE id = ?", job)).toBe(0);
    expect(await env.BLOBS.head(`uploads/${t.id}/${upload.id}`)).toBeNull();
  });

  it("a step stopped half-way (objects deleted, rows not yet) is finished by the next, erasing nothing twice", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await runJob(host, i + 1, t, "u"));
    const now = Date.now();
    for (const id of ids) await endedAt(id, now - 40 * DAY);
    const small = { RETENTION_BATCH_JOBS: 2 };

    // The step fails after R2 (the job feeds are unreachable): its objects are gone, its rows are not.
    const broken = { ...env, JOB_FEED: { getByName: () => ({ erase: () => Promise.reject(new Error("connection reset")) }) } } as unknown as Env;
    let cursor: SweepCursor = { phase: "jobs", after: "" };
    await expect(sweepStep({ env: broken, config: config(small), log }, cursor, now)).rejects.toThrow("connection reset");
    const left = await rows(`SELECT count(*) AS n FROM jobs WHERE tenant_id = ?`, t.id);
    expect(left).toBe(5);
    expect(await objectsUnder(`jobs/${t.id}/`)).toHaveLength(3);

    // Resumed from the saved cursor (the failed step saved nothing), step by step.
    const seen = new Set<string>();
    for (let i = 0; i < 20 && cursor.phase !== "deleted"; i++) {
      const before = new Set((await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ?").bind(t.id).all<{ id: string }>()).results.map((r) => r.id));
      const step = await sweepStep({ env: env as Env, config: config(small), log }, cursor, now);
      expect(step.erased.jobs).toBeLessThanOrEqual(2);
      const after = new Set((await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ?").bind(t.id).all<{ id: string }>()).results.map((r) => r.id));
      for (const id of before)
        if (!after.has(id)) {
          expect(seen.has(id)).toBe(false);
          seen.add(id);
        }
      cursor = step.cursor;
    }
    expect(cursor.phase).toBe("deleted");
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(await objectsUnder(`jobs/${t.id}/`)).toEqual([]);
    expect(await stored(t.id)).toBe(0);
  });

  it("the RetentionSweeper runs the steps on its alarm, saves its cursor and sleeps after a pass", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await runJob(host, 1, t, "u");
    await endedAt(job, Date.now() - 31 * DAY);
    const sweeper = env.RETENTION_SWEEPER.getByName("global");
    await sweeper.keepTicking();
    // Its alarm runs the steps on its own; wait (bounded, generously) until the pass is over.
    let status = await sweeper.status();
    for (let i = 0; i < 400; i++) {
      status = await sweeper.status();
      const gone = (await rows("SELECT count(*) AS n FROM jobs WHERE id = ?", job)) === 0;
      if (gone && status.pass.started_at === null && status.next_step_at !== null && status.next_step_at - Date.now() > 60_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The pass is over: the cursor is back at the start and the next pass is set for later.
    expect(status.cursor).toEqual(PASS_START);
    expect(status.next_step_at! - Date.now()).toBeGreaterThan(60_000);
    expect(await rows("SELECT count(*) AS n FROM jobs WHERE id = ?", job)).toBe(0);
    expect(await objectsUnder(`jobs/${t.id}/${job}/`)).toEqual([]);
  });

  it("GET /v1/admin/retention shows the sweep; POST …/run starts its next step; both are the operator's only", async ({ expect }) => {
    const read = await adminCall("/v1/admin/retention");
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ phase: expect.any(String), pass: { jobs: expect.any(Number) } });
    const run = await adminCall("/v1/admin/retention/run", { method: "POST" });
    expect(run.status).toBe(202);
    expect(await run.json()).toMatchObject({ phase: expect.any(String), pass: { jobs: expect.any(Number) } });
    await expectProblem(await call("/v1/admin/retention"), 401, "unauthenticated");
  });

  it("finds due jobs by a range seek on jobs_tenant_ended_idx, whatever the tenant's history", async ({ expect }) => {
    const db = createDb(env.DB);
    // A parameter list (status IN (?, ?, ?)) would not imply the partial index's WHERE, and every
    // step would scan all of the tenant's jobs and sort them.
    expect(await queryPlan(endedBeforeQuery(db, "ten_x", Date.now(), 100))).toBe(
      "SEARCH jobs USING INDEX jobs_tenant_ended_idx (tenant_id=? AND finished_at<?)",
    );
    expect(await queryPlan(endedJobsQuery(db, "ten_x", null, 100))).toBe("SEARCH jobs USING INDEX jobs_tenant_ended_idx (tenant_id=?)");
  });
});
