/**
 * The body of a webhook: `{type, timestamp, data: {job}}`, where `job` is exactly what
 * `GET /v1/jobs/{id}` returns (src/jobs/present.ts), output URLs included. Thin by design: no
 * workflow, no bytes; receivers fetch outputs through the URLs.
 *
 * The same bytes on every attempt and redelivery of one message (Standard Webhooks: one
 * `webhook-id`, one payload): output URLs are signed as of the message's first attempt
 * (`links_signed_at`), so they expire OUTPUT_URL_TTL_SECONDS after it (a receiver that gets a late
 * retry reads the job for fresh ones), and nothing in it moves with time. A terminal job's row never
 * changes, so its payload is the job as it ended; only deleting its outputs or retiring the URL key
 * changes it.
 * A `job.running` event may be sent after the job moved on, so its job is the row as it was at
 * that moment: running on the event's attempt, with none of what came later (progress, end,
 * outputs, error) — exactly what `markDispatched` wrote.
 */
import type { JobRow, WebhookMessageRow } from "../db/schema.ts";
import { type PresentContext, presentEventJob } from "../jobs/present.ts";

export function jobAtEvent(job: JobRow, msg: Pick<WebhookMessageRow, "type" | "jobAttempt" | "occurredAt">): JobRow {
  if (msg.type !== "job.running") return job;
  return {
    ...job,
    status: "running",
    attempt: msg.jobAttempt,
    progress: null,
    finishedAt: null,
    error: null,
    cancelRequestedAt: job.cancelRequestedAt !== null && job.cancelRequestedAt <= msg.occurredAt ? job.cancelRequestedAt : null,
  };
}

export async function buildPayload(ctx: PresentContext, msg: WebhookMessageRow, job: JobRow, linksSignedAt: number): Promise<string> {
  const view = await presentEventJob(ctx, jobAtEvent(job, msg), linksSignedAt);
  return JSON.stringify({ type: msg.type, timestamp: new Date(msg.occurredAt).toISOString(), data: { job: view } });
}
