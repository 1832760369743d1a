// The jobs API contract: submit, get, list filters and the cancel state rules.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { call, createTenant, expectProblem, type JobBody, submit, submitOk, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";

describe("submit and get", () => {
  it("returns 202 with the job and its Location", async ({ expect }) => {
    const t = await createTenant();
    const res = await submit(t.key, "alice", { workflow: WORKFLOW, metadata: { order: 42, tag: "x" }, webhook: { url: "https://example.com/hook" } });
    expect(res.status).toBe(202);
    const job = (await res.json()) as Record<string, any>;
    expect(res.headers.get("Location")).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({
      status: "queued",
      user_id: "alice",
      started_at: null,
      finished_at: null,
      progress: null,
      outputs: [],
      error: null,
      attempt: 0,
      metadata: { order: 42, tag: "x" },
      webhook: { url: "https://example.com/hook", events: ["job.succeeded", "job.failed", "job.cancelled"] },
    });
    expect(Date.parse(job.queue_deadline_at) - Date.parse(job.created_at)).toBe(900_000);
    const read = await call(`/v1/jobs/${job.id}`, { headers: userHeaders(t.key, "alice") });
    expect(await read.json()).toEqual(job);
    const stored = await env.DB.prepare("SELECT workflow FROM job_workflows WHERE job_id = ?").bind(job.id).first<{ workflow: string }>();
    expect(JSON.parse(stored!.workflow)).toEqual(WORKFLOW);
  });

  it("says where the submit's time went in Server-Timing, one entry per step", async ({ expect }) => {
    const t = await createTenant();
    const res = await submit(t.key, "alice");
    expect(res.status).toBe(202);
    const steps = (res.headers.get("Server-Timing") ?? "").split(", ").map((entry) => entry.split(";dur="));
    expect(steps.map(([name]) => name)).toEqual(["checks", "pool_check", "admission", "inputs", "insert", "enqueue", "total"]);
    for (const [, ms] of steps) expect(Number(ms)).toBeGreaterThanOrEqual(0);
  });

  it("404s an unknown or malformed job id", async () => {
    const t = await createTenant();
    await expectProblem(await call("/v1/jobs/job_aaaaaaaaaaaaaaaaaaaa", { headers: userHeaders(t.key, "u") }), 404, "not-found");
    await expectProblem(await call("/v1/jobs/not-an-id", { headers: userHeaders(t.key, "u") }), 404, "not-found");
  });
});

describe("cancel", () => {
  it("cancels a queued job, and cancelling again returns it unchanged", async ({ expect }) => {
    const t = await createTenant();
    const job = await submitOk(t.key, "alice");
    const first = await call(`/v1/jobs/${job.id}`, { method: "DELETE", headers: userHeaders(t.key, "alice") });
    expect(first.status).toBe(200);
    const cancelled = (await first.json()) as Record<string, any>;
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.finished_at).not.toBeNull();
    const second = await call(`/v1/jobs/${job.id}`, { method: "DELETE", headers: userHeaders(t.key, "alice") });
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual(cancelled);
  });

  it.each(["succeeded", "failed"])("refuses to cancel a job that %s (409)", async (status) => {
    const t = await createTenant();
    const job = await submitOk(t.key, "alice");
    await env.DB.prepare("UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?").bind(status, Date.now(), job.id).run();
    const body = await expectProblem(await call(`/v1/jobs/${job.id}`, { method: "DELETE", headers: userHeaders(t.key, "alice") }), 409, "job-not-cancellable");
    if (body.job_status !== status) throw new Error(`job_status is ${String(body.job_status)}`);
    const after = (await (await call(`/v1/jobs/${job.id}`, { headers: userHeaders(t.key, "alice") })).json()) as JobBody;
    if (after.status !== status) throw new Error(`terminal state changed to ${after.status}`);
  });

  it("marks a running job cancel_requested without ending it (its host confirms later)", async ({ expect }) => {
    const t = await createTenant();
    const job = await submitOk(t.key, "alice");
    await env.DB.prepare("UPDATE jobs SET status = 'running', started_at = ? WHERE id = ?").bind(Date.now(), job.id).run();
    const res = await call(`/v1/jobs/${job.id}`, { method: "DELETE", headers: userHeaders(t.key, "alice") });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body.status).toBe("running");
    expect(body.cancel_requested_at).not.toBeNull();
    const again = (await (await call(`/v1/jobs/${job.id}`, { method: "DELETE", headers: userHeaders(t.key, "alice") })).json()) as Record<string, any>;
    expect(again.cancel_requested_at).toBe(body.cancel_requested_at);
  });

  it("concurrent cancels of one queued job all answer 200 cancelled", async ({ expect }) => {
    const t = await createTenant();
    const job = await submitOk(t.key, "alice");
    const results = await Promise.all(Array.from({ length: 8 }, () => call(`/v1/jobs/${job.id}`, { method: "DELETE", headers: userHeaders(t.key, "alice") })));
    const bodies = (await Promise.all(results.map((r) => r.json()))) as Record<string, any>[];
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(new Set(bodies.map((b) => `${b.status}|${b.finished_at}`)).size).toBe(1);
  });
});

describe("list", () => {
  it("filters by status and pages newest first", async ({ expect }) => {
    const t = await createTenant();
    const jobs: JobBody[] = [];
    for (let i = 0; i < 5; i++) jobs.push(await submitOk(t.key, "lister"));
    await call(`/v1/jobs/${jobs[1]!.id}`, { method: "DELETE", headers: userHeaders(t.key, "lister") });
    const queued = (await (await call("/v1/jobs?status=queued", { headers: userHeaders(t.key, "lister") })).json()) as { data: JobBody[] };
    expect(queued.data.map((j) => j.id)).toEqual([jobs[4], jobs[3], jobs[2], jobs[0]].map((j) => j!.id));
    const cancelled = (await (await call("/v1/jobs?status=cancelled", { headers: userHeaders(t.key, "lister") })).json()) as { data: JobBody[] };
    expect(cancelled.data.map((j) => j.id)).toEqual([jobs[1]!.id]);
    const page = (await (await call("/v1/jobs?limit=2", { headers: userHeaders(t.key, "lister") })).json()) as { data: JobBody[]; next_cursor: string };
    expect(page.data).toHaveLength(2);
    expect(page.next_cursor).toEqual(expect.any(String));
    const empty = (await (await call("/v1/jobs", { headers: userHeaders(t.key, "nobody") })).json()) as { data: JobBody[]; next_cursor: null };
    expect(empty).toEqual({ data: [], next_cursor: null });
  });

  it("rejects a forged or foreign cursor", async () => {
    const t = await createTenant();
    for (const cursor of ["abc", "MTIzLmpvYl94", btoa("1.job_aaaaaaaaaaaaaaaaaaaa;drop"), "%00"]) {
      await expectProblem(await call(`/v1/jobs?cursor=${encodeURIComponent(cursor)}`, { headers: userHeaders(t.key, "u") }), 400, "invalid-cursor");
    }
  });
});
