/**
 * Every job status change in D1, each a single compare-and-set UPDATE: it applies only if the job
 * is still in the expected state (and, for host-driven changes, still on the expected attempt), so
 * a terminal state never changes and a late or duplicate callback cannot overwrite a newer one.
 * A function returns the updated row when it won the race, undefined when it did not.
 *
 * Changes a webhook can be subscribed to (running, and the terminal states) run in one D1 batch
 * with `recordEvent` (src/webhooks/outbox.ts): the status change and its webhook message commit
 * together, so no crash can lose the event. Delivery itself happens elsewhere, never here.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { type Owner, owned } from "../db/jobs.ts";
import { type JobError, type JobProgress, type JobRow, jobs } from "../db/schema.ts";
import { recordEvent } from "../webhooks/outbox.ts";

type Terminal = "succeeded" | "failed" | "cancelled";

/** queued → running for a new attempt on a host. */
export async function markDispatched(db: Db, jobId: string, attempt: number, hostId: string, now: number): Promise<JobRow | undefined> {
  const [rows] = await db.batch([
    db
      .update(jobs)
      .set({ status: "running", attempt, hostId, startedAt: sql`coalesce(${jobs.startedAt}, ${now})`, progress: null, updatedAt: now })
      .where(and(eq(jobs.id, jobId), eq(jobs.status, "queued")))
      .returning(),
    recordEvent(db, { jobId, status: "running", attempt, now }),
  ]);
  return rows[0];
}

/** running (attempt n) → queued, keeping `attempt` = n so the next dispatch is n + 1. */
export async function requeue(db: Db, jobId: string, attempt: number, now: number): Promise<JobRow | undefined> {
  return db
    .update(jobs)
    .set({ status: "queued", hostId: null, progress: null, updatedAt: now })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "running"), eq(jobs.attempt, attempt)))
    .returning()
    .get();
}

/** Undo a dispatch the host never accepted: the attempt did not happen. */
export async function undoDispatch(db: Db, jobId: string, attempt: number, now: number): Promise<JobRow | undefined> {
  return db
    .update(jobs)
    .set({ status: "queued", attempt: attempt - 1, hostId: null, progress: null, updatedAt: now })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "running"), eq(jobs.attempt, attempt)))
    .returning()
    .get();
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
 * Ends a job. `attempt` pins host-driven endings to the attempt that reported them; `from` says
 * which live states may end this way (a queue timeout only ends a queued job).
 */
export async function finish(
  db: Db,
  jobId: string,
  to: Terminal,
  opts: { now: number; from: ("queued" | "running")[]; attempt?: number; error?: JobError | null; progress?: JobProgress | null },
): Promise<JobRow | undefined> {
  const conditions = [eq(jobs.id, jobId), inArray(jobs.status, opts.from)];
  if (opts.attempt !== undefined) conditions.push(eq(jobs.attempt, opts.attempt));
  const [rows] = await db.batch([
    db
      .update(jobs)
      .set({
        status: to,
        finishedAt: opts.now,
        updatedAt: opts.now,
        error: opts.error ?? null,
        ...(opts.progress !== undefined ? { progress: opts.progress } : {}),
      })
      .where(and(...conditions))
      .returning(),
    recordEvent(db, { jobId, status: to, now: opts.now }),
  ]);
  return rows[0];
}

/** The owner cancels a queued job: queued → cancelled, with its webhook event, atomically. */
export async function cancelQueued(db: Db, owner: Owner, jobId: string, now: number): Promise<JobRow | undefined> {
  const [rows] = await db.batch([
    db
      .update(jobs)
      .set({ status: "cancelled", finishedAt: now, updatedAt: now, cancelRequestedAt: now })
      .where(and(owned(owner, jobId), eq(jobs.status, "queued")))
      .returning(),
    recordEvent(db, { jobId, status: "cancelled", now }),
  ]);
  return rows[0];
}
