/** Schemas of the webhook routes (delivery log, redelivery, signing secrets); they also generate the OpenAPI document. */
import { z } from "@hono/zod-openapi";
import { WEBHOOK_MESSAGE_STATES } from "../db/schema.ts";
import { WEBHOOK_STATUSES } from "../webhooks/status.ts";

const time = (description?: string) => z.string().openapi({ format: "date-time", ...(description ? { description } : {}) });

export const WebhookMessageSchema = z
  .object({
    webhook_id: z.string().openapi({ description: "The `webhook-id` header: the same on every attempt and redelivery of this event; dedupe on it." }),
    type: z.string().openapi({ example: "job.succeeded" }),
    occurred_at: time("When the job changed state (the payload's `timestamp`)."),
    state: z.enum(WEBHOOK_MESSAGE_STATES),
    attempts: z.number().int(),
    next_attempt_at: time("When the next attempt is due (pending only).").nullable(),
    last_attempt_at: time().nullable(),
  })
  .openapi("WebhookMessage");

export const WebhookAttemptSchema = z
  .object({
    webhook_id: z.string(),
    type: z.string(),
    attempted_at: time(),
    duration_ms: z.number().int(),
    status_code: z.number().int().nullable().openapi({ description: "The receiver's HTTP status; null when there was no answer." }),
    error: z
      .object({ code: z.enum(["timeout", "network", "redirect", "unsafe_url"]), message: z.string() })
      .nullable()
      .openapi({ description: "Why the attempt failed, when a status code alone does not say it." }),
    outcome: z.enum(["delivered", "retry", "failed", "gone"]).openapi({ description: "What the attempt led to." }),
  })
  .openapi("WebhookAttempt");

export const WebhookDeliveriesSchema = z
  .object({
    webhook: z.object({ url: z.string(), events: z.array(z.string()) }).nullable(),
    webhook_status: z.enum(WEBHOOK_STATUSES).nullable(),
    events: z.array(WebhookMessageSchema).openapi({ description: "Every event of the job, newest first." }),
    data: z.array(WebhookAttemptSchema).openapi({ description: "Delivery attempts, newest first (at most `limit`)." }),
  })
  .openapi("WebhookDeliveries");

export const DeliveriesQuery = z
  .object({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(200)
      .default(100)
      .openapi({ param: { name: "limit", in: "query" } }),
  })
  .strict();

export const WebhookSecretSchema = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    active: z.boolean(),
    created_at: time(),
    retired_at: time().nullable(),
  })
  .openapi("WebhookSecret");

export const CreatedWebhookSecretSchema = WebhookSecretSchema.extend({
  secret: z.string().openapi({ description: "The Standard Webhooks secret (whsec_…). Shown only in this response." }),
}).openapi("CreatedWebhookSecret");

export const TenantSecretParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
  secret_id: z
    .string()
    .max(64)
    .openapi({ param: { name: "secret_id", in: "path" } }),
});
