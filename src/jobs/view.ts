/** The public representation of a job (what `GET /v1/jobs/{id}` returns), from its row. */
import type { JobRow } from "../db/schema.ts";
import { DEFAULT_WEBHOOK_EVENTS, type JobView } from "../routes/jobs.schemas.ts";
import { type LatestMessage, webhookStatus } from "../webhooks/status.ts";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export interface JobExtras {
  outputs: JobView["outputs"];
  queuePosition: number | null;
  /** The job's latest webhook message, when it has one (src/webhooks/status.ts). */
  latestWebhookMessage?: LatestMessage | undefined;
}

const NO_EXTRAS: JobExtras = { outputs: [], queuePosition: null };

export function jobView(row: JobRow, extras: JobExtras = NO_EXTRAS): JobView {
  return {
    id: row.id,
    status: row.status,
    user_id: row.userId,
    created_at: new Date(row.createdAt).toISOString(),
    started_at: iso(row.startedAt),
    finished_at: iso(row.finishedAt),
    cancel_requested_at: iso(row.cancelRequestedAt),
    queue_deadline_at: new Date(row.queueDeadlineAt).toISOString(),
    attempt: row.attempt,
    progress: row.progress ?? null,
    queue_position: row.status === "queued" ? extras.queuePosition : null,
    outputs: extras.outputs,
    error: row.error ?? null,
    metadata: row.metadata ?? null,
    webhook: row.webhookUrl ? { url: row.webhookUrl, events: row.webhookEvents ?? DEFAULT_WEBHOOK_EVENTS } : null,
    webhook_status: webhookStatus(row.webhookUrl !== null, extras.latestWebhookMessage),
  };
}
