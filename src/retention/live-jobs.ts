/**
 * Jobs cannot be erased while they run: an erasure first cancels its live jobs (a queued one ends
 * at once, a running one when its host confirms) and erases them once they have ended.
 */

import type { Db } from "../db/client.ts";
import { liveJobsOf } from "../db/retention.ts";
import type { Env } from "../env.ts";
import { cancelJob } from "../jobs/cancel.ts";
import { describeError, type Logger } from "../lib/log.ts";

/** Asks every live job of the user (or tenant) to stop, up to `limit`; how many are still live. */
export async function cancelLiveJobs(env: Env, db: Db, log: Logger, tenantId: string, userId: string | null, limit: number, now: number): Promise<number> {
  const live = await liveJobsOf(db, tenantId, userId, limit);
  let stillLive = 0;
  for (const job of live) {
    try {
      const outcome = await cancelJob({ env, db, log }, { tenantId, userId: job.userId }, job.id, now);
      if (outcome.kind === "requested") stillLive++;
    } catch (err) {
      // The pool could not be reached: the job stays live and the next attempt asks again.
      stillLive++;
      log.warn("erasure_cancel_deferred", { job_id: job.id, ...describeError(err) });
    }
  }
  return stillLive;
}
