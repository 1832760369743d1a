/** Public representations of webhook messages, attempts and signing secrets. Secrets' values never appear here. */

import type { z } from "@hono/zod-openapi";
import type { WebhookAttemptRow, WebhookMessageRow } from "../db/schema.ts";
import type { WebhookAttemptSchema, WebhookMessageSchema, WebhookSecretSchema } from "../routes/webhooks.schemas.ts";
import type { WebhookSecretRow } from "./secrets.ts";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function messageView(m: WebhookMessageRow): z.infer<typeof WebhookMessageSchema> {
  return {
    webhook_id: m.id,
    type: m.type,
    occurred_at: new Date(m.occurredAt).toISOString(),
    state: m.state,
    attempts: m.attempts,
    next_attempt_at: m.state === "pending" ? iso(m.nextAttemptAt) : null,
    last_attempt_at: iso(m.lastAttemptAt),
  };
}

export function attemptView(a: WebhookAttemptRow, typeOf: (messageId: string) => string): z.infer<typeof WebhookAttemptSchema> {
  return {
    webhook_id: a.messageId,
    type: typeOf(a.messageId),
    attempted_at: new Date(a.attemptedAt).toISOString(),
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    error: a.error ? ({ code: a.error.code, message: a.error.message } as z.infer<typeof WebhookAttemptSchema>["error"]) : null,
    outcome: a.outcome,
  };
}

export function secretView(s: WebhookSecretRow): z.infer<typeof WebhookSecretSchema> {
  return {
    id: s.id,
    tenant_id: s.tenantId,
    active: s.retiredAt === null,
    created_at: new Date(s.createdAt).toISOString(),
    retired_at: iso(s.retiredAt),
  };
}
