// GET /v1/admin/failures: only failed jobs, only those that ended within the window, counted by
// (error code, pool) with each group's latest failure; groups capped, the total not; the window is
// bounded; both queries seek the partial index of failed jobs; only the admin token gets in.
// Jobs are written straight into D1 with finish times minutes away from any window edge, so the
// few milliseconds between seeding and the request never matter.
import { env } from "cloudflare:workers";
import { beforeAll, describe, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { failureGroupsQuery, failureTotalQuery } from "../../src/db/failures.ts";
import { newId } from "../../src/lib/ids.ts";
import { MAX_FAILURE_GROUPS } from "../../src/routes/admin-failures.ts";
import { adminCall, call, createTenant, expectProblem, queryPlan, type TestTenant } from "../support/worker-helpers.ts";

interface Failures {
  since: string;
  until: string;
  total: number;
  groups: { code: string; pool: string; count: number; last_at: string; last_message: string | null }[];
}

const MIN = 60_000;

interface Seed {
  status?: "failed" | "succeeded" | "cancelled" | "queued" | "running";
  pool: string;
  code?: string;
  message?: string;
  /** Minutes before now the job ended. */
  endedMinutesAgo: number;
}

async function seed(tenantId: string, now: number, jobs: Seed[]): Promise<void> {
  const stmts = jobs.map((j) => {
    const finishedAt = now - j.endedMinutesAgo * MIN;
    const error = j.code ? JSON.stringify({ code: j.code, message: j.message ?? `${j.code} in ${j.pool}` }) : null;
    const live = j.status === "queued" || j.status === "running";
    return env.DB.prepare(
      "INSERT INTO jobs (id, tenant_id, user_id, status, created_at, updated_at, queue_deadline_at, node_count, pool, finished_at, error) VALUES (?, ?, 'u', ?, ?, ?, ?, 2, ?, ?, ?)",
    ).bind(newId("job"), tenantId, j.status ?? "failed", finishedAt - MIN, finishedAt, finishedAt + 15 * MIN, j.pool, live ? null : finishedAt, error);
  });
  for (let i = 0; i < stmts.length; i += 100) await env.DB.batch(stmts.slice(i, i + 100));
}

async function failures(qs = ""): Promise<Failures> {
  const res = await adminCall(`/v1/admin/failures${qs}`);
  if (res.status !== 200) throw new Error(`failures: ${res.status} ${await res.text()}`);
  return (await res.json()) as Failures;
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("GET /v1/admin/failures", () => {
  let t: TestTenant;
  let now: number;
  beforeAll(async () => {
    t = await createTenant();
    now = Date.now();
    await seed(t.id, now, [
      { pool: "fail-a", code: "execution_error", message: "KSampler raised", endedMinutesAgo: 9 },
      { pool: "fail-a", code: "execution_error", message: "older", endedMinutesAgo: 20 },
      { pool: "fail-a", code: "execution_error", message: "oldest in the hour", endedMinutesAgo: 30 },
      { pool: "fail-a", code: "out_of_memory", message: "x".repeat(2000), endedMinutesAgo: 5 },
      { pool: "fail-b", code: "execution_error", message: "in b", endedMinutesAgo: 15 },
      { pool: "fail-b", code: "execution_error", message: "earlier in b", endedMinutesAgo: 50 },
      { pool: "fail-b", code: "queue_timeout", endedMinutesAgo: 40 },
      // Outside the default hour, inside a day.
      { pool: "fail-a", code: "execution_error", message: "two hours ago", endedMinutesAgo: 120 },
      // Outside any window.
      { pool: "fail-a", code: "execution_error", endedMinutesAgo: 25 * 60 },
      // Not failures, though some carry an error and all ended (or not) within the hour.
      { status: "cancelled", pool: "fail-a", code: "cancelled", endedMinutesAgo: 3 },
      { status: "succeeded", pool: "fail-a", endedMinutesAgo: 3 },
      { status: "running", pool: "fail-a", endedMinutesAgo: 3 },
      { status: "queued", pool: "fail-b", endedMinutesAgo: 3 },
    ]);
  });

  it("counts the last hour's failed jobs by code and pool, largest group first", async ({ expect }) => {
    const before = Date.now();
    const body = await failures();
    expect(Date.parse(body.until)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(body.until)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(body.until) - Date.parse(body.since)).toBe(3600_000);
    expect(body.total).toBe(7);
    expect(body.groups).toEqual([
      { code: "execution_error", pool: "fail-a", count: 3, last_at: iso(now - 9 * MIN), last_message: "KSampler raised" },
      { code: "execution_error", pool: "fail-b", count: 2, last_at: iso(now - 15 * MIN), last_message: "in b" },
      // Ties by count go by code, then pool.
      { code: "out_of_memory", pool: "fail-a", count: 1, last_at: iso(now - 5 * MIN), last_message: "x".repeat(500) },
      { code: "queue_timeout", pool: "fail-b", count: 1, last_at: iso(now - 40 * MIN), last_message: "queue_timeout in fail-b" },
    ]);
  });

  it("takes window_seconds: a day reaches back further, ten minutes less far", async ({ expect }) => {
    const day = await failures("?window_seconds=86400");
    expect(day.total).toBe(8);
    expect(day.groups[0]).toEqual({ code: "execution_error", pool: "fail-a", count: 4, last_at: iso(now - 9 * MIN), last_message: "KSampler raised" });
    const tenMinutes = await failures("?window_seconds=600");
    expect(tenMinutes.total).toBe(2);
    expect(tenMinutes.groups.map((g) => [g.code, g.pool, g.count])).toEqual([
      ["execution_error", "fail-a", 1],
      ["out_of_memory", "fail-a", 1],
    ]);
  });

  it("refuses a window out of range, not a whole number, or an unknown parameter with 400", async ({ expect }) => {
    for (const [qs, says] of [
      ["window_seconds=59", "at least 60"],
      ["window_seconds=86401", "at most 86400"],
      ["window_seconds=0", "at least 60"],
      ["window_seconds=90.5", "whole number"],
      ["window_seconds=hour", "window_seconds"],
      ["window=3600", "window"],
    ] as const) {
      const body = await expectProblem(await adminCall(`/v1/admin/failures?${qs}`), 400, "invalid-query");
      expect(body.detail, qs).toContain(says);
    }
    expect((await failures("?window_seconds=60")).total).toBeGreaterThanOrEqual(0);
  });

  it(`returns at most ${MAX_FAILURE_GROUPS} groups, and a total that still counts every failure`, async ({ expect }) => {
    const before = await failures("?window_seconds=86400");
    // One failure in each of MAX + 5 pools, and a large group that must come first.
    await seed(
      t.id,
      now,
      Array.from({ length: MAX_FAILURE_GROUPS + 5 }, (_, i) => ({ pool: `cap-${String(i).padStart(3, "0")}`, code: "host_lost", endedMinutesAgo: 300 })),
    );
    await seed(
      t.id,
      now,
      Array.from({ length: 6 }, () => ({ pool: "cap-big", code: "timeout", endedMinutesAgo: 300 })),
    );
    const after = await failures("?window_seconds=86400");
    expect(after.total).toBe(before.total + MAX_FAILURE_GROUPS + 5 + 6);
    expect(after.groups).toHaveLength(MAX_FAILURE_GROUPS);
    expect(after.groups[0]).toMatchObject({ code: "timeout", pool: "cap-big", count: 6 });
    expect(after.groups.reduce((sum, g) => sum + g.count, 0)).toBeLessThan(after.total);
  });

  it("answers 401 without the admin token", async () => {
    await expectProblem(await call("/v1/admin/failures"), 401, "unauthenticated");
    await expectProblem(await call("/v1/admin/failures", { headers: { Authorization: `Bearer ${t.key}` } }), 401, "unauthenticated");
  });

  it("reads only failed jobs of the window, through the partial index jobs_failed_finished_idx", async ({ expect }) => {
    const db = createDb(env.DB);
    const window = { since: 1, until: 2 };
    for (const query of [failureGroupsQuery(db, window, MAX_FAILURE_GROUPS), failureTotalQuery(db, window)]) {
      const p = await queryPlan(query);
      expect(p).toMatch(/SEARCH jobs USING (COVERING )?INDEX jobs_failed_finished_idx \(finished_at>\? AND finished_at<\?\)/);
      expect(p).not.toMatch(/SCAN jobs/);
    }
  });
});
