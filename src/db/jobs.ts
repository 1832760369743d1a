/**
 * Queries on jobs. Status changes live in src/jobs/lifecycle.ts (the only code that writes
 * `jobs.status`); what is here reads jobs, or changes what is not a status.
 */

import { and, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { JobNeeds } from "../dispatch/placement.ts";

import type { Db } from "./client.ts";
import { type JobRow, type JobStatus, jobs, jobWorkflows } from "./schema.ts";

export interface Owner {
  tenantId: string;
  userId: string;
}

export const owned = (owner: Owner, id: string) => and(eq(jobs.id, id), eq(jobs.tenantId, owner.tenantId), eq(jobs.userId, owner.userId));

export async function getOwnedJob(db: Db, owner: Owner, id: string): Promise<JobRow | undefined> {
  return db.select().from(jobs).where(owned(owner, id)).get();
}

export interface ListOptions {
  limit: number;
  status?: JobStatus;
  /** Keyset position: strictly older than (createdAt, id). */
  before?: { createdAt: number; id: string };
}

/**
 * Newest first. Seeks on (tenant_id, user_id[, status], created_at, id) with a row-value
 * comparison, which SQLite turns into an index range: the cost of a page does not depend on how
 * many jobs the user has.
 */
export function listOwnedJobsQuery(db: Db, owner: Owner, opts: ListOptions) {
  const where: SQL[] = [eq(jobs.tenantId, owner.tenantId), eq(jobs.userId, owner.userId)];
  if (opts.status) where.push(eq(jobs.status, opts.status));
  if (opts.before) where.push(sql`(${jobs.createdAt}, ${jobs.id}) < (${opts.before.createdAt}, ${opts.before.id})`);
  return db
    .select()
    .from(jobs)
    .where(and(...where))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(opts.limit);
}

export async function listOwnedJobs(db: Db, owner: Owner, opts: ListOptions): Promise<JobRow[]> {
  return listOwnedJobsQuery(db, owner, opts).all();
}

/** Marks a running job for cancellation (its host interrupts it and confirms); idempotent. */
export async function requestCancelRunning(db: Db, owner: Owner, id: string, now: number): Promise<JobRow | undefined> {
  return db
    .update(jobs)
    .set({ cancelRequestedAt: sql`coalesce(${jobs.cancelRequestedAt}, ${now})`, updatedAt: now })
    .where(and(owned(owner, id), eq(jobs.status, "running")))
    .returning()
    .get();
}

/** Status of each of the given jobs that exists (chunked: D1 binds at most 100 parameters). */
export async function jobStatuses(db: Db, ids: string[]): Promise<Map<string, JobStatus>> {
  const out = new Map<string, JobStatus>();
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await db
      .select({ id: jobs.id, status: jobs.status })
      .from(jobs)
      .where(inArray(jobs.id, ids.slice(i, i + 90)))
      .all();
    for (const r of rows) out.set(r.id, r.status);
  }
  return out;
}

export async function getJob(db: Db, id: string): Promise<JobRow | undefined> {
  return db.select().from(jobs).where(eq(jobs.id, id)).get();
}

export async function workflowOf(db: Db, jobId: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.select({ workflow: jobWorkflows.workflow }).from(jobWorkflows).where(eq(jobWorkflows.jobId, jobId)).get();
  return row?.workflow;
}

/** What the job needs of a host (null: submitted before placement knew). */
export async function needsOf(db: Db, jobId: string): Promise<JobNeeds | null> {
  const row = await db.select({ needs: jobWorkflows.needs }).from(jobWorkflows).where(eq(jobWorkflows.jobId, jobId)).get();
  return row?.needs ?? null;
}

/** Removes a job that was never acknowledged to its client (its submit failed after the insert). */
export async function deleteJob(db: Db, id: string): Promise<void> {
  await db.delete(jobs).where(eq(jobs.id, id));
}

/** Live jobs of a pool not touched for a while: the dispatcher's reconciliation looks at these. */
/**
 * Stealing (docs/scale.md): hands queued jobs from one Dispatcher shard of the pool to another, each
 * a compare-and-set on (queued, in `from`), all in one batch. The ids that moved; a job that was
 * cancelled (or ended) meanwhile does not. Not a status change, so the row's updated_at stays:
 * if the receiver never enqueues it, its reconciliation adopts it as soon as it is stale.
 */
export async function moveQueuedJobs(db: Db, ids: readonly string[], pool: string, from: number, to: number): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const updates = ids.map((id) =>
    db
      .update(jobs)
      .set({ dispatcherShard: to })
      .where(and(eq(jobs.id, id), eq(jobs.pool, pool), eq(jobs.status, "queued"), eq(jobs.dispatcherShard, from)))
      .returning({ id: jobs.id }),
  );
  const results = await db.batch(updates as [(typeof updates)[number], ...(typeof updates)[number][]]);
  return new Set(results.flatMap((rows) => rows.map((r) => r.id)));
}

/** Where a job is dispatched from: its pool and the Dispatcher shard holding it (src/dispatch/route.ts). */
export async function dispatcherShardOf(db: Db, id: string): Promise<Pick<JobRow, "pool" | "dispatcherShard"> | undefined> {
  return db.select({ pool: jobs.pool, dispatcherShard: jobs.dispatcherShard }).from(jobs).where(eq(jobs.id, id)).get();
}

/** Live jobs of one pool's shard not changed since `olderThan`: what that shard's reconciliation adopts. */
export async function staleLiveJobs(db: Db, pool: string, shard: number, olderThan: number, limit: number): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(inArray(jobs.status, ["queued", "running"]), eq(jobs.pool, pool), eq(jobs.dispatcherShard, shard), sql`${jobs.updatedAt} < ${olderThan}`))
    .orderBy(jobs.createdAt)
    .limit(limit)
    .all();
}
