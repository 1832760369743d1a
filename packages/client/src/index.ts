/**
 * comfyui-saas-client: a typed client of the comfyui-saas API (types generated from its OpenAPI
 * document). fetch only, no Node built-ins: Node 22, Deno and browsers. File helpers for Node are in
 * `comfyui-saas-client/node`. `ComfyAdminClient` is the operator's client of the admin API.
 */
export {
  type AdminClientOptions,
  type ApiKey,
  ComfyAdminClient,
  type CreatedApiKey,
  type FailureGroup,
  type Failures,
  type GpuHost,
  type Pool,
  type PoolPatch,
  type Tenant,
  type TenantPage,
  type TenantPatch,
} from "./admin.ts";
export {
  type ClientOptions,
  ComfyClient,
  isLive,
  type Job,
  type JobOutput,
  type JobStatus,
  type SubmitOptions,
  type Upload,
  type Usage,
  type Workflow,
  type WorkflowValidation,
} from "./client.ts";
export { ApiError, type Problem } from "./errors.ts";
export { DEFAULT_RETRY, type RetryPolicy, retryAfterMs } from "./retry.ts";
export type { components, paths } from "./schema.ts";
export { type SseMessage, SseParser } from "./sse.ts";
export { type JobStreamEvent, TERMINAL } from "./watch.ts";
export { verifyWebhook } from "./webhooks.ts";

import { verifyWebhook } from "./webhooks.ts";
/** `webhooks.verify(rawBody, headers, secret)`. */
export const webhooks = { verify: verifyWebhook };
