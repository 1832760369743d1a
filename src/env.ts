/**
 * Types of the Worker's bindings and of the per-request context every handler sees.
 * Which settings exist, and their defaults, is src/config/schema.ts.
 */
import type { Dispatcher } from "../durable-objects/dispatcher.ts";
import type { TenantQuota } from "../durable-objects/tenant-quota.ts";
import type { WebhookDelivery } from "../durable-objects/webhook-delivery.ts";
import type { WebhookSweeper } from "../durable-objects/webhook-sweeper.ts";
import type { Principal } from "./auth/principal.ts";
import type { Config } from "./config/schema.ts";
import type { Logger } from "./lib/log.ts";

export interface Env {
  DB: D1Database;
  BLOBS: R2Bucket;
  TENANT_QUOTA: DurableObjectNamespace<TenantQuota>;
  DISPATCHER: DurableObjectNamespace<Dispatcher>;
  WEBHOOK_DELIVERY: DurableObjectNamespace<WebhookDelivery>;
  WEBHOOK_SWEEPER: DurableObjectNamespace<WebhookSweeper>;
  [setting: string]: unknown;
}

export interface AppVariables {
  config: Config;
  requestId: string;
  log: Logger;
  principal: Principal;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };
