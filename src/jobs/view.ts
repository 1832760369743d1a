/** The public representation of a job (what `GET /v1/jobs/{id}` returns), from its row. */
import type { JobRow, JobStatus } from "../db/schema.ts";
import type { WaitingFor } from "../dispatch/types.ts";
import { DEFAULT_WEBHOOK_EVENTS } from "../webhooks/events.ts";
import { type LatestMessage, type WebhookStatus, webhookStatus } from "../webhooks/status.ts";

/** A job as clients see it; `src/routes/jobs.schemas.ts` documents exactly this shape. */
export interface JobView {
  id: string;
  status: JobStatus;
  user_id: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  cancel_requested_at: string | null;
  queue_deadline_at: string;
  attempt: number;
  pool: string;
  progress: { value: number; max: number; node: string | null; node_type: string | null; percent: number | null } | null;
  timings: {
    queued_ms: number | null;
    model_fetch_ms: number | null;
    input_fetch_ms: number | null;
    execution_ms: number | null;
    upload_ms: number | null;
    total_ms: number | null;
    gpu_ms: number;
  };
  queue_position: number | null;
  estimated_start_seconds: number | null;
  estimated_finish_seconds: number | null;
  waiting_for: { reason: "no-live-host" | "missing-on-every-host"; models?: string[]; node_classes?: string[] } | null;
  outputs: Array<{ name: string; content_type: string; size: number; sha256: string; kind: string; url: string }>;
  error: { code: string; message: string; details?: unknown } | null;
  metadata: Record<string, unknown> | null;
  webhook: { url: string; events: string[] } | null;
  webhook_status: WebhookStatus | null;
}

function publicWaitingFor(w: WaitingFor): JobView["waiting_for"] {
  if (w.reason === "no-live-host") return { reason: w.reason };
  return { reason: w.reason, models: w.models, node_classes: w.classes };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export interface JobExtras {
  outputs: JobView["outputs"];
  queuePosition: number | null;
  /** The Dispatcher's estimates while the job is live (src/dispatch/estimate.ts). */
  estimatedStartSeconds?: number | null | undefined;
  estimatedFinishSeconds?: number | null | undefined;
  /** Why a queued job is waiting when it is not just the queue (src/dispatch/types.ts WaitingFor). */
  waitingFor?: WaitingFor | null | undefined;
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
    pool: row.pool,
    progress: row.progress
      ? {
          value: row.progress.value,
          max: row.progress.max,
          node: row.progress.node,
          node_type: row.progress.node_type ?? null,
          percent: row.progress.percent ?? null,
        }
      : null,
    timings: {
      queued_ms: row.startedAt === null ? null : row.startedAt - row.createdAt,
      model_fetch_ms: row.timings?.model_fetch_ms ?? null,
      input_fetch_ms: row.timings?.input_fetch_ms ?? null,
      execution_ms: row.timings?.execution_ms ?? null,
      upload_ms: row.timings?.upload_ms ?? null,
      total_ms: row.finishedAt === null ? null : row.finishedAt - row.createdAt,
      gpu_ms: row.gpuMs,
    },
    queue_position: row.status === "queued" ? extras.queuePosition : null,
    estimated_start_seconds: row.status === "queued" ? (extras.estimatedStartSeconds ?? null) : null,
    estimated_finish_seconds: row.status === "queued" || row.status === "running" ? (extras.estimatedFinishSeconds ?? null) : null,
    waiting_for: row.status === "queued" && extras.waitingFor ? publicWaitingFor(extras.waitingFor) : null,
    outputs: extras.outputs,
    error: row.error ?? null,
    metadata: row.metadata ?? null,
    webhook: row.webhookUrl ? { url: row.webhookUrl, events: row.webhookEvents ?? [...DEFAULT_WEBHOOK_EVENTS] } : null,
    webhook_status: webhookStatus(row.webhookUrl !== null, extras.latestWebhookMessage),
  };
}
