/**
 * `webhook_status` of a job: one word for where its webhook stands, from its latest message.
 *
 * - null: the job has no webhook.
 * - idle: nothing to send yet (no subscribed event has happened).
 * - pending: the latest event waits for its first attempt (or a redelivery).
 * - retrying: the latest event failed at least once and will be tried again.
 * - delivered: the receiver answered 2xx to the latest event.
 * - failed: the latest event ran out of retries (or its URL was refused at delivery).
 * - gone: the receiver answered 410 Gone; nothing more is sent for this job until a redelivery.
 *
 * "Latest" is by event time; `GET /v1/jobs/{id}/webhook-deliveries` shows every event and attempt.
 */
import type { WebhookMessageState } from "../db/schema.ts";

export const WEBHOOK_STATUSES = ["idle", "pending", "retrying", "delivered", "failed", "gone"] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

export interface LatestMessage {
  state: WebhookMessageState;
  attempts: number;
  step: number;
}

export function webhookStatus(hasWebhook: boolean, latest: LatestMessage | undefined): WebhookStatus | null {
  if (!hasWebhook) return null;
  if (!latest) return "idle";
  switch (latest.state) {
    case "pending":
      return latest.step > 0 ? "retrying" : "pending";
    case "delivered":
    case "failed":
    case "gone":
      return latest.state;
    default: {
      const never: never = latest.state;
      throw new Error(`unknown webhook message state ${String(never)}`);
    }
  }
}
