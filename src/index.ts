/**
 * Worker entry point: the HTTP app and the Durable Object classes the runtime instantiates.
 * Where a job goes: src/routes/jobs.ts (submit) → TenantQuota (admission) → D1 (src/db/jobs.ts)
 * → Dispatcher (queue, lease) → a GPU host → src/routes/host-api.ts (events, outputs to R2).
 */
import { createApp } from "./app.ts";
import type { Env } from "./env.ts";
import { scheduled } from "./scheduled.ts";

export { Dispatcher } from "../durable-objects/dispatcher.ts";
export { JobFeed } from "../durable-objects/job-feed.ts";
export { ModelVerifier } from "../durable-objects/model-verifier.ts";
export { PoolScaler } from "../durable-objects/pool-scaler.ts";
export { RetentionSweeper } from "../durable-objects/retention-sweeper.ts";
export { TenantQuota } from "../durable-objects/tenant-quota.ts";
export { WebhookDelivery } from "../durable-objects/webhook-delivery.ts";
export { WebhookSweeper } from "../durable-objects/webhook-sweeper.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>;
