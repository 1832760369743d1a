/**
 * Recording webhook events: the transactional-outbox half of delivery.
 *
 * `recordEvent` is one SQL statement meant to run in the SAME D1 batch as the job's
 * compare-and-set (src/jobs/lifecycle.ts): D1 runs a batch as one transaction, so the status
 * change and its webhook message commit together or not at all — a crash cannot leave a changed
 * job without its event. The statement re-reads the job inside the batch and inserts only when the
 * job really is in the event's state (so a lost compare-and-set records nothing), has a webhook,
 * and subscribed to the event. `ON CONFLICT DO NOTHING` on (job, type, attempt) makes it idempotent, so
 * `afterTerminal` can call it again for transitions made elsewhere without duplicating anything.
 *
 * Handing the message to its delivery object is separate and best-effort (`scheduleDelivery`);
 * the sweeper (durable-objects/webhook-sweeper.ts) catches any hand-off that was lost.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { type JobRow, type JobStatus, webhookMessages } from "../db/schema.ts";
import type { Env } from "../env.ts";
import { randomBase32 } from "../lib/encoding.ts";
import { describeError, type Logger } from "../lib/log.ts";
import { DEFAULT_WEBHOOK_EVENTS, type WebhookEvent } from "./events.ts";

export type { WebhookEvent };

type EventStatus = Exclude<JobStatus, "queued">;

export function eventOf(status: EventStatus): WebhookEvent {
  return `job.${status}`;
}

/** Standard Webhooks message id: no '.', no whitespace, unguessable. */
export function newMessageId(): string {
  return `msg_${randomBase32(24)}`;
}

/** Did this job ask for this event? (The TS twin of the SQL condition in `recordEvent`.) */
export function wantsEvent(job: Pick<JobRow, "webhookUrl" | "webhookEvents">, type: WebhookEvent): boolean {
  if (!job.webhookUrl) return false;
  return (job.webhookEvents ?? DEFAULT_WEBHOOK_EVENTS).includes(type);
}

/**
 * Inserts (once) the message for the job's change to `status` (on `attempt`, when given),
 * conditioned on the job's row as it is at this point of the batch. Batchable.
 */
export function recordEvent(db: Db, e: { jobId: string; status: EventStatus; attempt?: number; now: number }) {
  const type = eventOf(e.status);
  const byDefault = DEFAULT_WEBHOOK_EVENTS.includes(type) ? 1 : 0;
  const attempt = e.attempt === undefined ? sql`` : sql` AND attempt = ${e.attempt}`;
  // Columns in the table's order (drizzle inserts a raw SELECT into all of them). A query builder
  // rather than db.run(sql): drizzle's D1 batch cannot bind parameters of a raw statement.
  return db
    .insert(webhookMessages)
    .select(
      sql`SELECT ${newMessageId()}, id, tenant_id, ${type}, attempt, webhook_url, ${e.now}, 'pending', 0, 0, ${e.now}, NULL, ${e.now}, NULL
      FROM jobs
      WHERE id = ${e.jobId} AND status = ${e.status}${attempt} AND webhook_url IS NOT NULL
        AND CASE WHEN webhook_events IS NULL THEN ${byDefault}
                 ELSE EXISTS (SELECT 1 FROM json_each(jobs.webhook_events) WHERE json_each.value = ${type}) END`,
    )
    .onConflictDoNothing();
}

/**
 * Wakes the job's delivery object. Never throws and never waits for a receiver: it only sets an
 * alarm, so the job pipeline pays one short RPC. If it fails, the sweeper reschedules the message.
 */
export async function scheduleDelivery(env: Env, jobId: string, log: Logger): Promise<void> {
  try {
    await env.WEBHOOK_DELIVERY.getByName(jobId).schedule(jobId);
  } catch (err) {
    log.warn("webhook_schedule_deferred", { job_id: jobId, ...describeError(err) });
  }
}

/** After a job changed state (the caller won the compare-and-set): hand its event to delivery. */
export async function notifyWebhook(env: Env, job: JobRow, log: Logger): Promise<void> {
  if (job.status === "queued" || !wantsEvent(job, eventOf(job.status))) return;
  await scheduleDelivery(env, job.id, log);
}
