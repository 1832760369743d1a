/**
 * The only code that changes a job's status (a test fails if anything else writes `jobs.status`).
 *
 *   (created) → queued → running ⇄ queued (retry, or a dispatch the host never took)
 *                  │         │
 *                  └─────────┴──→ succeeded | failed | cancelled   (terminal: never changes again)
 *
 * Each transition is one compare-and-set in D1: it applies only while the job is in the expected
 * state (and, for host-driven changes, still on the expected attempt), so a terminal state never
 * changes and a late or duplicate callback cannot overwrite a newer one. A function returns the
 * updated row when it won, undefined when it did not — and whoever wins does the follow-up work,
 * here, in one place:
 * - the webhook event of a change a webhook can subscribe to (running, terminal) is written in the
 *   same D1 batch as the change (src/webhooks/outbox.ts), so no crash loses it; its delivery is
 *   handed to the job's delivery object after the change commits;
 * - a terminal change releases the tenant's admission slot, exactly once (TenantQuota);
 * - a terminal change is published to the job's event stream (src/feed), after its commit.
 */

import { and, eq, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { releaseJobSlot } from "../admission/quota.ts";
import type { Db } from "../db/client.ts";
import { type Owner, owned } from "../db/jobs.ts";
import { outputsOf } from "../db/outputs.ts";
import {
  gpuUsageMonthly,
  type JobError,
  type JobInputRow,
  type JobOutputRow,
  type JobProgress,
  type JobRow,
  type JobStatus,
  type JobTimings,
  jobInputs,
  jobs,
  jobWorkflows,
} from "../db/schema.ts";
import type { JobNeeds } from "../dispatch/placement.ts";
import type { Env } from "../env.ts";
import { originOf, publishEvent, terminalInput } from "../feed/publish.ts";
import { describeError, type Logger } from "../lib/log.ts";
import { eventOf, notifyWebhook, recordEvent, wantsEvent } from "../webhooks/outbox.ts";

export type LiveStatus = Extract<JobStatus, "queued" | "running">;
export type TerminalStatus = Exclude<JobStatus, LiveStatus>;
export const LIVE_STATUSES: readonly LiveStatus[] = ["queued", "running"];

/** What the follow-up work of a terminal change needs. */
export interface LifecycleContext {
  env: Env;
  db: Db;
  log: Logger;
}

export type NewJob = typeof jobs.$inferInsert & { status: "queued" };

/** A new job: row (queued), workflow and inputs in one atomic batch, all or nothing. */
export async function createQueued(
  db: Db,
  job: NewJob,
  workflow: Record<string, unknown>,
  inputs: JobInputRow[] = [],
  needs: JobNeeds | null = null,
): Promise<void> {
  const statements: BatchItem<"sqlite">[] = [db.insert(jobs).values(job), db.insert(jobWorkflows).values({ jobId: job.id, workflow, needs })];
  // D1 binds at most 100 parameters a statement: 9 columns → 10 input rows each.
  for (let i = 0; i < inputs.length; i += 10) statements.push(db.insert(jobInputs).values(inputs.slice(i, i + 10)));
  await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
}

/**
 * queued → running, for a new attempt on a host (its `job.running` event in the same batch).
 * `shard`: only while D1 says that Dispatcher shard holds the job, so a shard that lent it away
 * (stealing, src/dispatch/route.ts) can never dispatch it too.
 */
export async function markDispatched(db: Db, jobId: string, attempt: number, hostId: string, now: number, shard?: number): Promise<JobRow | undefined> {
  const [rows] = await db.batch([dispatchedUpdate(db, jobId, attempt, hostId, now, shard), recordEvent(db, { jobId, status: "running", attempt, now })]);
  return rows[0];
}

function dispatchedUpdate(db: Db, jobId: string, attempt: number, hostId: string, now: number, shard?: number) {
  return db
    .update(jobs)
    .set({
      status: "running",
      attempt,
      hostId,
      startedAt: sql`coalesce(${jobs.startedAt}, ${now})`,
      attemptStartedAt: now,
      progress: null,
      timings: null,
      updatedAt: now,
    })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "queued"), shard === undefined ? undefined : eq(jobs.dispatcherShard, shard)))
    .returning();
}

/**
 * markDispatched, and in the same D1 round trip what the dispatch request carries: the job's
 * workflow and inputs (read whether or not the compare-and-set won; used only if it did). One
 * batch instead of three queries on every dispatch's path.
 */
export async function markDispatchedWithRequest(
  db: Db,
  jobId: string,
  attempt: number,
  hostId: string,
  now: number,
  shard?: number,
): Promise<{ row: JobRow | undefined; workflow: Record<string, unknown> | undefined; inputs: JobInputRow[] }> {
  const [rows, , workflow, inputs] = await db.batch([
    dispatchedUpdate(db, jobId, attempt, hostId, now, shard),
    recordEvent(db, { jobId, status: "running", attempt, now }),
    db.select({ workflow: jobWorkflows.workflow }).from(jobWorkflows).where(eq(jobWorkflows.jobId, jobId)),
    db.select().from(jobInputs).where(eq(jobInputs.jobId, jobId)),
  ]);
  return { row: rows[0], workflow: workflow[0]?.workflow, inputs };
}

/**
 * running (attempt n) → queued. `retry`: the attempt happened (its host was lost or failed
 * retryably), so `attempt` stays n and the next dispatch is n + 1. `not-taken`: the host never
 * accepted the dispatch, so the attempt did not happen and `attempt` goes back to n - 1.
 */
export async function backToQueue(db: Db, jobId: string, attempt: number, why: "retry" | "not-taken", now: number): Promise<JobRow | undefined> {
  return db
    .update(jobs)
    .set({
      status: "queued",
      // An attempt that happened held a GPU until now; one the host never took did not.
      ...(why === "not-taken" ? { attempt: attempt - 1 } : { gpuMs: attemptGpuMs(now) }),
      hostId: null,
      attemptStartedAt: null,
      progress: null,
      updatedAt: now,
    })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "running"), eq(jobs.attempt, attempt)))
    .returning()
    .get();
}

/** Progress of the running attempt (not a status change; pinned to the attempt like one). */
/** Adds the host's measurements of the running attempt (job.started, job.executed) to what it said before. */
export async function setTimings(db: Db, jobId: string, attempt: number, timings: JobTimings, now: number): Promise<boolean> {
  const row = await db
    .update(jobs)
    .set({ timings: mergedTimings(timings), updatedAt: now })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "running"), eq(jobs.attempt, attempt)))
    .returning({ id: jobs.id })
    .get();
  return row !== undefined;
}

export async function setProgress(db: Db, jobId: string, attempt: number, progress: JobProgress, now: number): Promise<boolean> {
  const row = await db
    .update(jobs)
    .set({ progress, updatedAt: now })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "running"), eq(jobs.attempt, attempt)))
    .returning({ id: jobs.id })
    .get();
  return row !== undefined;
}

/**
 * Ends a job, and does what every ending needs (slot release, webhook). `attempt` pins a
 * host-driven ending to the attempt that reported it; `from` says which live states may end this
 * way (a queue timeout only ends a queued job).
 */
export async function end(ctx: LifecycleContext, jobId: string, to: TerminalStatus, opts: EndOptions): Promise<JobRow | undefined> {
  const row = await commitEnd(ctx.db, jobId, to, opts);
  if (row) await afterTerminal(ctx, row, opts.outputs);
  return row;
}

export interface EndOptions {
  now: number;
  from: readonly LiveStatus[];
  attempt?: number;
  error?: JobError | null;
  progress?: JobProgress | null;
  /** The host's last measurements (job.succeeded's upload time), added to the attempt's. */
  timings?: JobTimings;
  /** The succeeding attempt's outputs, when the caller has read them already (else they are read for the event stream). */
  outputs?: JobOutputRow[];
}

/**
 * The job's GPU time with its running attempt's added, up to `now` (SQLite evaluates SET
 * expressions on the row as it was, so `status` here is the status before the change).
 */
function attemptGpuMs(now: number) {
  return sql`${jobs.gpuMs} + CASE WHEN ${jobs.status} = 'running' AND ${jobs.attemptStartedAt} IS NOT NULL THEN max(0, ${now} - ${jobs.attemptStartedAt}) ELSE 0 END`;
}

/**
 * Adds a job's GPU time to its tenant's month, in the batch of its terminal compare-and-set and
 * right after it: `changes() = 1` only when that update changed the row, so a job is counted once
 * however many times something tries to end it.
 */
function countGpuTime(db: Db, jobId: string) {
  // A query builder rather than db.run(sql): drizzle's D1 batch cannot bind a raw statement's parameters.
  return db
    .insert(gpuUsageMonthly)
    .select(
      sql`SELECT tenant_id, strftime('%Y-%m', finished_at / 1000, 'unixepoch'), pool, gpu_ms, 1 FROM jobs
        WHERE id = ${jobId} AND gpu_ms > 0 AND changes() = 1`,
    )
    .onConflictDoUpdate({
      target: [gpuUsageMonthly.tenantId, gpuUsageMonthly.month, gpuUsageMonthly.pool],
      set: { gpuMs: sql`${gpuUsageMonthly.gpuMs} + excluded.gpu_ms`, jobs: sql`${gpuUsageMonthly.jobs} + 1` },
    });
}

/** The stored timings with `add` merged in (SQLite json_patch: later keys win). */
function mergedTimings(add: JobTimings) {
  return sql`json_patch(coalesce(${jobs.timings}, '{}'), ${JSON.stringify(add)})`;
}

/**
 * The D1 half of `end`: the compare-and-set and its webhook event, without the follow-up. Only
 * `end` should call it; it is exported for the outbox test that plays a crash between the two.
 */
export async function commitEnd(db: Db, jobId: string, to: TerminalStatus, opts: EndOptions): Promise<JobRow | undefined> {
  const conditions = [eq(jobs.id, jobId), inArray(jobs.status, [...opts.from])];
  if (opts.attempt !== undefined) conditions.push(eq(jobs.attempt, opts.attempt));
  const [rows] = await db.batch([
    db
      .update(jobs)
      .set({
        status: to,
        finishedAt: opts.now,
        updatedAt: opts.now,
        gpuMs: attemptGpuMs(opts.now),
        attemptStartedAt: null,
        error: opts.error ?? null,
        ...(opts.progress !== undefined ? { progress: opts.progress } : {}),
        ...(opts.timings !== undefined ? { timings: mergedTimings(opts.timings) } : {}),
      })
      .where(and(...conditions))
      .returning(),
    countGpuTime(db, jobId),
    recordEvent(db, { jobId, status: to, now: opts.now }),
  ]);
  return rows[0];
}

/** The owner cancels a queued job: queued → cancelled, with its webhook event, atomically. */
export async function cancelQueued(ctx: LifecycleContext, owner: Owner, jobId: string, now: number): Promise<JobRow | undefined> {
  const [rows] = await ctx.db.batch([
    ctx.db
      .update(jobs)
      .set({ status: "cancelled", finishedAt: now, updatedAt: now, cancelRequestedAt: now })
      .where(and(owned(owner, jobId), eq(jobs.status, "queued")))
      .returning(),
    recordEvent(ctx.db, { jobId, status: "cancelled", now }),
  ]);
  const row = rows[0];
  if (row) await afterTerminal(ctx, row);
  return row;
}

/** What follows every terminal change, done by the caller that won its compare-and-set. */
async function afterTerminal(ctx: LifecycleContext, job: JobRow, outputs?: JobOutputRow[]): Promise<void> {
  const { env, log } = ctx;
  log.info("job_finished", { job_id: job.id, tenant_id: job.tenantId, status: job.status, attempt: job.attempt, error_code: job.error?.code });
  await Promise.all([releaseJobSlot(env, job.tenantId, job.id, log), publishTerminal(ctx, job, outputs)]);
  if (job.status !== "queued" && job.status !== "running" && wantsEvent(job, eventOf(job.status))) {
    try {
      // Normally already recorded by the transition's own batch; this makes sure (a no-op then).
      await recordEvent(ctx.db, { jobId: job.id, status: job.status, now: job.finishedAt ?? Date.now() });
    } catch (err) {
      log.error("webhook_event_not_recorded", { job_id: job.id, ...describeError(err) });
    }
    await notifyWebhook(env, job, log);
  }
}

async function publishTerminal(ctx: LifecycleContext, job: JobRow, known?: JobOutputRow[]): Promise<void> {
  try {
    const outputs = job.status !== "succeeded" ? [] : (known ?? (await outputsOf(ctx.db, job.id, job.attempt)));
    await publishEvent(ctx.env, job.id, terminalInput(job, outputs), originOf(job), ctx.log);
  } catch (err) {
    ctx.log.warn("feed_publish_failed", { job_id: job.id, type: `job.${job.status}`, ...describeError(err) });
  }
}
