/**
 * The body of a webhook: `{type, timestamp, data: {job}}`, where `job` is exactly what
 * `GET /v1/jobs/{id}` returns (src/jobs/present.ts), output URLs included. Thin by design: no
 * workflow, no bytes; receivers fetch outputs through the URLs.
 *
 * Built at each attempt, so output URLs are freshly signed even on a retry days later; the event
 * itself never changes. A terminal job's row never changes, so its payload is the job as it ended.
 * A `job.running` event may be sent after the job moved on, so its job is the row as it was at
 * that moment: running on the event's attempt, with none of what came later (progress, end,
 * outputs, error) — exactly what `markDispatched` wrote.
 */
import type { JobRow, WebhookMessageRow } from "../db/schema.ts";
import { type PresentContext, presentJob } from "../jobs/present.ts";

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

export async function buildPayload(ctx: PresentContext, msg: WebhookMessageRow, job: JobRow): Promise<string> {
  const view = await presentJob(ctx, jobAtEvent(job, msg));
  return JSON.stringify({ type: msg.type, timestamp: new Date(msg.occurredAt).toISOString(), data: { job: view } });
}
