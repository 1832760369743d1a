/**
 * What follows every terminal transition, whoever made it (cancel route, dispatcher, timeouts):
 * the tenant's admission slot is released, exactly once, by the caller that won the
 * compare-and-set. Webhook delivery hooks in here too: the job's terminal event is recorded (a
 * no-op when the transition's own D1 batch already did, as `finish` does) and handed to its
 * delivery object, which sends it in the background.
 */
import { releaseJobSlot } from "../admission/quota.ts";
import { createDb } from "../db/client.ts";
import type { JobRow } from "../db/schema.ts";
import type { Env } from "../env.ts";
import type { Logger } from "../lib/log.ts";
import { describeError } from "../lib/log.ts";
import { eventOf, notifyWebhook, recordEvent, wantsEvent } from "../webhooks/outbox.ts";

export async function afterTerminal(env: Env, job: JobRow, log: Logger): Promise<void> {
  log.info("job_finished", { job_id: job.id, tenant_id: job.tenantId, status: job.status, attempt: job.attempt, error_code: job.error?.code });
  await releaseJobSlot(env, job.tenantId, job.id, log);
  if (job.status !== "queued" && job.status !== "running" && wantsEvent(job, eventOf(job.status))) {
    try {
      // Normally already recorded by the transition's own batch; this makes sure (a no-op then).
      await recordEvent(createDb(env.DB), { jobId: job.id, status: job.status, now: job.finishedAt ?? Date.now() });
    } catch (err) {
      log.error("webhook_event_not_recorded", { job_id: job.id, ...describeError(err) });
    }
    await notifyWebhook(env, job, log);
  }
}
