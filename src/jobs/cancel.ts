/**
 * Cancelling a job for its owner. A queued job is cancelled at once (and leaves its pool's
 * queue); a running one is marked `cancel_requested_at` and its pool's Dispatcher tells the host,
 * which interrupts it and confirms — the job becomes `cancelled` then (src/jobs/lifecycle.ts). A
 * cancelled job is answered as it is; one that succeeded or failed cannot be cancelled.
 */
import { getOwnedJob, type Owner, requestCancelRunning } from "../db/jobs.ts";
import type { JobRow } from "../db/schema.ts";
import { dispatcherOfJob } from "../dispatch/route.ts";
import { ProblemError } from "../http/problem.ts";
import { describeError } from "../lib/log.ts";
import { cancelQueued, type LifecycleContext } from "./lifecycle.ts";

export type CancelOutcome = { kind: "cancelled" | "requested" | "already-cancelled"; job: JobRow } | { kind: "not-found" };

export async function cancelJob(ctx: LifecycleContext, owner: Owner, id: string, now = Date.now()): Promise<CancelOutcome> {
  const cancelled = await cancelQueued(ctx, owner, id, now);
  if (cancelled) {
    // The queue entry goes too (a dispatch already under way finds the job cancelled and stops).
    try {
      await dispatcherOfJob(ctx.env, cancelled).cancel(id);
    } catch (err) {
      ctx.log.warn("dequeue_deferred", { job_id: id, ...describeError(err) });
    }
    return { kind: "cancelled", job: cancelled };
  }
  const running = await requestCancelRunning(ctx.db, owner, id, now);
  if (running) {
    try {
      await dispatcherOfJob(ctx.env, running).cancel(id);
    } catch (err) {
      ctx.log.error("cancel_not_forwarded", { job_id: id, ...describeError(err) });
      throw new ProblemError("unavailable", "The cancel request could not reach the job's GPU pool; retry it.", { headers: { "Retry-After": "2" } });
    }
    return { kind: "requested", job: running };
  }
  const row = await getOwnedJob(ctx.db, owner, id);
  if (!row) return { kind: "not-found" };
  if (row.status === "succeeded" || row.status === "failed") {
    throw new ProblemError("job-not-cancellable", `Job ${id} already ${row.status}; only queued or running jobs can be cancelled.`, {
      extensions: { job_status: row.status },
    });
  }
  return { kind: "already-cancelled", job: row };
}
