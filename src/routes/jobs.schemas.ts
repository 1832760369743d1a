/** Request and response schemas of `/v1/jobs`: they validate requests and generate the OpenAPI document. */
import { z } from "@hono/zod-openapi";
import { JOB_STATUSES } from "../db/schema.ts";
import type { SubmitJobInput } from "../jobs/submit.ts";
import type { JobView } from "../jobs/view.ts";
import { POOL_NAME_RE, POOL_NAME_RULE } from "../pools/name.ts";
import { DEFAULT_WEBHOOK_EVENTS, WEBHOOK_EVENTS } from "../webhooks/events.ts";
import { WEBHOOK_STATUSES } from "../webhooks/status.ts";
import { pageQuery } from "./pagination.ts";

const MAX_METADATA_BYTES = 8192;

export const WebhookSchema = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" })
      .max(2048)
      .openapi({ example: "https://example.com/hooks/comfy" }),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1)
      .max(WEBHOOK_EVENTS.length)
      .optional()
      .openapi({ description: `Events to deliver; default ${DEFAULT_WEBHOOK_EVENTS.join(", ")}.` }),
  })
  .strict()
  .openapi("WebhookSubscription");

export const SubmitJobBody = z
  .object({
    workflow: z.record(z.string(), z.unknown()).openapi({
      description: 'ComfyUI workflow in API format: node id → {class_type, inputs}. Links are ["<node id>", <output index>].',
      example: {
        "1": { class_type: "EmptyImage", inputs: { width: 512, height: 512, batch_size: 1, color: 0 } },
        "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "out" } },
      },
    }),
    webhook: WebhookSchema.optional(),
    metadata: z
      .record(z.string().max(64), z.unknown())
      .refine((m) => Object.keys(m).length <= 64, "at most 64 keys")
      .refine((m) => new TextEncoder().encode(JSON.stringify(m)).length <= MAX_METADATA_BYTES, `at most ${MAX_METADATA_BYTES} bytes as JSON`)
      .optional()
      .openapi({ description: "Your own key/values, returned with the job (≤ 64 keys, ≤ 8 KiB)." }),
    pool: z.string().regex(POOL_NAME_RE, `a pool name: ${POOL_NAME_RULE}`).optional().openapi({
      description: "The GPU pool to run in; default: the tenant's default_pool, else DEFAULT_POOL. Must be one of the tenant's allowed pools.",
      example: "default",
    }),
  })
  .strict()
  .openapi("SubmitJob");

export const IdempotencyHeader = z.object({
  "Idempotency-Key": z
    .string()
    .optional()
    .openapi({
      param: { name: "Idempotency-Key", in: "header" },
      description: "Optional. A retry with the same key and body returns the original job; kept 24 h, scoped to the tenant.",
      example: '"8e03978e-40d5-43e8-bc93-6894a57f9324"',
    }),
});

export const PreferHeader = z.object({
  Prefer: z
    .string()
    .optional()
    .openapi({
      param: { name: "Prefer", in: "header" },
      description:
        "`wait=N` (RFC 7240): wait up to N seconds (at most PREFER_WAIT_MAX_SECONDS) for the job to end before answering. Other preferences are ignored.",
      example: "wait=30",
    }),
});

export const JobIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "job_7k2m4q9xw3hb5zc8rd6t" }),
});

export const ListJobsQuery = z
  .object({
    ...pageQuery({ defaultLimit: 20, maxLimit: 100 }),
    status: z
      .enum(JOB_STATUSES)
      .optional()
      .openapi({ param: { name: "status", in: "query" } }),
  })
  .strict();

export const JobSchema = z
  .object({
    id: z.string(),
    status: z.enum(JOB_STATUSES),
    user_id: z.string(),
    created_at: z.string().openapi({ format: "date-time" }),
    started_at: z.string().nullable().openapi({ format: "date-time" }),
    finished_at: z.string().nullable().openapi({ format: "date-time" }),
    cancel_requested_at: z.string().nullable().openapi({ format: "date-time" }),
    queue_deadline_at: z.string().openapi({ format: "date-time", description: "The job fails with queue_timeout if no GPU picked it up by then." }),
    attempt: z.number().int(),
    pool: z.string().openapi({ description: "The GPU pool the job runs in." }),
    progress: z
      .object({
        value: z.number().openapi({ description: "The current node's own progress (a sampler's steps)." }),
        max: z.number(),
        node: z.string().nullable(),
        node_type: z.string().nullable().openapi({ description: "The current node's class_type." }),
        percent: z.number().nullable().openapi({ description: "The whole graph's progress, 0-100 (null: the host did not say)." }),
      })
      .nullable(),
    timings: z
      .object({
        queued_ms: z.number().int().nullable().openapi({ description: "From submission to the first dispatch to a GPU host (null: still queued)." }),
        model_fetch_ms: z.number().int().nullable().openapi({
          description:
            "How long the current attempt waited for its model files on the GPU host (0: all were there; null: not started yet, or the host did not say).",
        }),
        input_fetch_ms: z.number().int().nullable().openapi({ description: "Fetching the current attempt's inputs and placing them in ComfyUI." }),
        execution_ms: z.number().int().nullable().openapi({ description: "ComfyUI's execution of the current attempt's prompt." }),
        upload_ms: z.number().int().nullable().openapi({ description: "Collecting and uploading the outputs." }),
        total_ms: z.number().int().nullable().openapi({ description: "From submission to the end (null: not ended)." }),
        gpu_ms: z.number().int().openapi({
          description:
            "GPU time of the job's attempts that ended, each from its dispatch to its end: what counts toward the tenant's monthly GPU time (a running attempt counts once it ends).",
        }),
      })
      .openapi({ description: "Where the job's time went; the host's figures are for the current attempt (null: not measured yet)." }),
    queue_position: z.number().int().nullable(),
    estimated_start_seconds: z.number().int().nullable().openapi({
      description:
        "While queued: seconds until a GPU host likely takes it, from the pool's recent execution times, its hosts' work in hand and the job's position (docs/watching.md). Null: no estimate.",
    }),
    estimated_finish_seconds: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "While queued or running: seconds until it likely ends. Null: no estimate, or it ended." }),
    waiting_for: z
      .object({
        reason: z.enum(["no-live-host", "missing-on-every-host"]),
        models: z.array(z.string()).optional(),
        node_classes: z.array(z.string()).optional(),
      })
      .nullable()
      .openapi({
        description:
          "Set while the job is queued for a reason other than busy GPUs: no host of its pool is up (no-live-host), or none of the live hosts has every node class and model file it names (missing-on-every-host, with what the closest host lacks). It starts when such a host joins, or fails with queue_timeout.",
      }),
    outputs: z.array(
      z
        .object({
          name: z.string(),
          content_type: z.string(),
          size: z.number().int(),
          sha256: z.string(),
          kind: z.string().openapi({ description: "What ComfyUI called it: images, audio, video, gifs, …" }),
          url: z.string().openapi({ description: "Short-lived signed URL (re-minted on every read); the same path with credentials needs no signature." }),
        })
        .openapi("JobOutput"),
    ),
    error: z
      .object({ code: z.string(), message: z.string(), details: z.unknown().optional() })
      .nullable()
      .openapi({ description: "Why the job failed or was cancelled." }),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    webhook: z.object({ url: z.string(), events: z.array(z.string()) }).nullable(),
    webhook_status: z.enum(WEBHOOK_STATUSES).nullable().openapi({
      description:
        "Where the job's webhook stands (null: no webhook): idle (nothing to send yet), pending, retrying, delivered, failed (retries exhausted) or gone (the receiver answered 410). Details: GET /v1/jobs/{id}/webhook-deliveries.",
    }),
  })
  .openapi("Job");

export const JobListSchema = z.object({ data: z.array(JobSchema), next_cursor: z.string().nullable() }).openapi("JobList");

/** The schema documents the domain's JobView (src/jobs/view.ts): if they drift apart, this does not compile. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const JOB_SCHEMA_MATCHES_VIEW: Same<z.infer<typeof JobSchema>, JobView> = true;
export const SUBMIT_SCHEMA_MATCHES_INPUT: Same<z.infer<typeof SubmitJobBody>, SubmitJobInput> = true;
