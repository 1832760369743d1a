/** The job events a tenant may subscribe a webhook to, and those it gets when it names none. */
export const WEBHOOK_EVENTS = ["job.running", "job.succeeded", "job.failed", "job.cancelled"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ["job.succeeded", "job.failed", "job.cancelled"];
