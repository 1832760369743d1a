/**
 * `DELETE /v1/admin/tenants/{id}/users/{user_id}`: everything of one end-user, now. Live jobs are
 * cancelled; ended jobs (inputs, outputs, events, webhook log) and uploads are erased in bounded
 * batches within the request. When more is left than one request may do (or a job is still being
 * cancelled), the answer says so and the same call continues where this one stopped.
 */
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import { endedJobsOf, uploadsOf } from "../db/retention.ts";
import type { Env } from "../env.ts";
import type { Logger } from "../lib/log.ts";
import { addErased, type Erased, eraseJobs, eraseUploads, nothingErased } from "./erase.ts";
import { cancelLiveJobs } from "./live-jobs.ts";

/** Batches one request erases at most, so it stays well inside a request's limits. */
export const ERASURE_BATCHES_PER_REQUEST = 5;
/** Live jobs one request asks to stop (an end-user's active jobs are capped far below it). */
const LIVE_JOBS_PER_REQUEST = 500;

export interface UserErasure {
  erased: Erased;
  /** Jobs still running, asked to stop: erased by a later call once they have ended. */
  liveJobs: number;
  complete: boolean;
}

export async function eraseUser(env: Env, config: Config, log: Logger, tenantId: string, userId: string, now: number): Promise<UserErasure> {
  const db = createDb(env.DB);
  const batch = config.RETENTION_BATCH_JOBS;
  const liveJobs = await cancelLiveJobs(env, db, log, tenantId, userId, LIVE_JOBS_PER_REQUEST, now);
  let erased = nothingErased();
  for (let i = 0; i < ERASURE_BATCHES_PER_REQUEST; i++) {
    const jobs = await endedJobsOf(db, tenantId, userId, batch);
    if (jobs.length > 0) {
      erased = addErased(erased, await eraseJobs(env, db, jobs));
      continue;
    }
    const uploads = await uploadsOf(db, tenantId, userId, batch);
    if (uploads.length === 0) return { erased, liveJobs, complete: liveJobs === 0 };
    erased = addErased(erased, await eraseUploads(env, db, uploads));
  }
  return { erased, liveJobs, complete: false };
}
