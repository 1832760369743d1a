/**
 * The events of a job's stream (`GET /v1/jobs/{id}/events`, issue 15): what publishers hand the
 * job's JobFeed (FeedInput) and what clients read (the data schemas below, which also document the
 * stream in the OpenAPI document). Stored data never holds a URL: signed URLs expire, so
 * durable-objects/job-feed.ts mints them each time it serves an event.
 */
import { z } from "@hono/zod-openapi";
import type { JobError, JobTimings } from "../db/schema.ts";

export const FEED_EVENT_TYPES = [
  "job.queued",
  "job.position",
  "job.running",
  "job.progress",
  "job.preview",
  "job.output",
  "job.succeeded",
  "job.failed",
  "job.cancelled",
] as const;
export type FeedEventType = (typeof FEED_EVENT_TYPES)[number];
export const TERMINAL_EVENT_TYPES = ["job.succeeded", "job.failed", "job.cancelled"] as const satisfies readonly FeedEventType[];
export type TerminalEventType = (typeof TERMINAL_EVENT_TYPES)[number];
/** `job.progress` → `JobProgressEvent`: the component each event's data schema is registered as. */
export const feedEventSchemaName = (t: FeedEventType): string => `Job${t.slice(4).replace(/^./, (c) => c.toUpperCase())}Event`;
export const isTerminalType = (t: string): t is TerminalEventType => (TERMINAL_EVENT_TYPES as readonly string[]).includes(t);

/** An output as the stream carries it (the URL is added when served). */
export interface FeedOutput {
  name: string;
  content_type: string;
  size: number;
  sha256: string;
  kind: string;
  node_id: string;
}

/** What a publisher sends a job's feed. `at` is the edge's time of the change (epoch ms). */
export type FeedInput =
  | { type: "job.queued"; attempt: number; reason: "submitted" | "retry"; at: number }
  | { type: "job.position"; position: number; estimated_start_seconds: number | null; at: number }
  | { type: "job.running"; attempt: number; at: number }
  | {
      type: "job.progress";
      attempt: number;
      node: string | null;
      node_type: string | null;
      value: number;
      max: number;
      percent: number | null;
      at: number;
    }
  | { type: "job.preview"; attempt: number; node: string | null; content_type: string; at: number }
  | ({ type: "job.output"; attempt: number; at: number } & FeedOutput)
  | {
      type: TerminalEventType;
      attempt: number;
      at: number;
      error: JobError | null;
      timings: JobTimings | null;
      outputs: FeedOutput[];
    };

/** Where a publisher's event came from, for the job's first event when the feed is new. */
export interface FeedOrigin {
  /** When the job was created (epoch ms): the time of its synthesized `job.queued`. */
  createdAt: number;
  pool: string;
}

// ===== What clients read (documentation and tests)

const iso = z.string().openapi({ format: "date-time" });
const attempt = z.number().int().openapi({ description: "The attempt the event belongs to (1 for the first dispatch; 0 before any)." });
const url = z.string().openapi({ description: "A short-lived signed URL, minted when the event is served (valid OUTPUT_URL_TTL_SECONDS)." });

const OutputData = z
  .object({
    name: z.string(),
    content_type: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    kind: z.string(),
    node_id: z.string(),
    url,
  })
  .openapi("JobStreamOutput");

function terminalData(status: "succeeded" | "failed" | "cancelled", name: string) {
  return z
    .object({
      status: z.literal(status),
      attempt,
      finished_at: iso,
      error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).nullable(),
      outputs: z.array(OutputData),
      timings: z.record(z.string(), z.number()).openapi({ description: "The host's measurements of the last attempt (see the job's `timings`)." }),
    })
    .openapi(name, { description: "The job ended; the stream ends after this event." });
}

export const FEED_EVENT_DATA = {
  "job.queued": z
    .object({
      status: z.literal("queued"),
      attempt,
      reason: z.enum(["submitted", "retry"]).openapi({ description: "submitted: the job is new; retry: a lost or failed attempt put it back." }),
      at: iso,
    })
    .openapi("JobQueuedEvent", { description: "The job waits for a GPU (first event of every stream's history; again after a retry)." }),
  "job.position": z
    .object({
      position: z
        .number()
        .int()
        .min(0)
        .openapi({ description: "Jobs of the pool that will be dispatched before it (0: it is next), as the job's queue_position." }),
      estimated_start_seconds: z.number().int().nullable().openapi({ description: "null: no estimate (no live host that can run it, or no history)." }),
      at: iso,
    })
    .openapi("JobPositionEvent", { description: "Its place in the pool's queue changed (sent while somebody is watching)." }),
  "job.running": z.object({ status: z.literal("running"), attempt, at: iso }).openapi("JobRunningEvent", { description: "A GPU host took the job." }),
  "job.progress": z
    .object({
      attempt,
      node: z.string().nullable().openapi({ description: "The node executing now." }),
      node_type: z.string().nullable().openapi({ description: "Its class_type." }),
      value: z.number(),
      max: z.number(),
      percent: z.number().min(0).max(100).nullable().openapi({
        description: "Overall progress of the whole graph (never goes down within an attempt); null when the host does not say.",
      }),
      at: iso,
    })
    .openapi("JobProgressEvent"),
  "job.preview": z
    .object({ attempt, node: z.string().nullable(), content_type: z.string(), url, at: iso })
    .openapi("JobPreviewEvent", { description: "A new sampler preview frame; `url` serves the latest one (GET /v1/jobs/{id}/preview)." }),
  "job.output": OutputData.extend({ attempt, at: iso }).openapi("JobOutputEvent", { description: "An output was stored (before the job succeeds)." }),
  "job.succeeded": terminalData("succeeded", "JobSucceededEvent"),
  "job.failed": terminalData("failed", "JobFailedEvent"),
  "job.cancelled": terminalData("cancelled", "JobCancelledEvent"),
} satisfies Record<FeedEventType, z.ZodType>;
