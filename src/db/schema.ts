/**
 * D1 tables (drizzle). `npm run db:generate` writes the SQL migrations in `migrations/` from this
 * file; wrangler applies them (locally, in tests and in production).
 *
 * Times are integer milliseconds since the epoch. Job listing is keyset-paginated over
 * (tenant_id, user_id[, status], created_at, id), so a page costs the same whatever the history size.
 */

import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Autoscaling } from "../capacity/settings.ts";
import type { JobNeeds } from "../dispatch/placement.ts";
import type { ModelFilesPolicy } from "../pools/model-files.ts";

export const tenants = sqliteTable(
  "tenants",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    // Per-tenant overrides; null means "the deployment default from config".
    maxActiveJobsPerUser: integer("max_active_jobs_per_user"),
    maxActiveJobsPerTenant: integer("max_active_jobs_per_tenant"),
    requestsPerMinute: integer("requests_per_minute"),
    uploadsPerDay: integer("uploads_per_day"),
    uploadBytesPerDay: integer("upload_bytes_per_day"),
    /** Private model files (`/v1/models`): how many, and how many bytes. */
    modelFiles: integer("model_files"),
    modelBytes: integer("model_bytes"),
    gpuSecondsPerMonth: integer("gpu_seconds_per_month"),
    /** Days a terminal job (inputs, outputs, events, webhook log) is kept (null: RETENTION_DAYS). */
    retentionDays: integer("retention_days"),
    /** Bytes of outputs + uploads + private models the tenant may hold (null: STORAGE_BYTES). */
    storageBytes: integer("storage_bytes"),
    /** Set when the tenant's deletion began: it authenticates nothing, and the sweeper erases it. */
    deletedAt: integer("deleted_at"),
    // JWT issuer trusted for this tenant's end-users (optional; API keys always work).
    jwtIssuer: text("jwt_issuer"),
    jwtAudience: text("jwt_audience"),
    jwtJwksUrl: text("jwt_jwks_url"),
    jwtPublicKey: text("jwt_public_key"),
    jwtAlgorithms: text("jwt_algorithms", { mode: "json" }).$type<string[]>(),
    // Pools: where a submit without `pool` runs (null: config DEFAULT_POOL), and which pools the
    // tenant may use at all (null: every pool).
    defaultPool: text("default_pool"),
    allowedPools: text("allowed_pools", { mode: "json" }).$type<string[]>(),
  },
  (t) => [
    uniqueIndex("tenants_jwt_issuer_uq").on(t.jwtIssuer),
    // GET /v1/admin/tenants pages newest first by (created_at, id).
    index("tenants_created_idx").on(t.createdAt, t.id),
  ],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name"),
    // SHA-256 (hex) of the secret part; the secret itself is never stored.
    secretHash: text("secret_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_tenant_idx").on(t.tenantId, t.createdAt)],
);

export const webhookSecrets = sqliteTable(
  "webhook_secrets",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    // AES-GCM ciphertext under DATA_ENCRYPTION_KEYS (src/encryption/columns.ts): signing needs the secret, a dump must not.
    secretCiphertext: text("secret_ciphertext").notNull(),
    createdAt: integer("created_at").notNull(),
    retiredAt: integer("retired_at"),
  },
  (t) => [index("webhook_secrets_tenant_idx").on(t.tenantId, t.createdAt)],
);

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export interface JobProgress {
  value: number;
  max: number;
  node: string | null;
  /** The node's class_type, and the whole graph's progress 0-100 (absent: the host did not say). */
  node_type?: string | null;
  percent?: number | null;
}

export interface JobError {
  code: string;
  message: string;
  details?: unknown;
}

export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    userId: text("user_id").notNull(),
    status: text("status", { enum: JOB_STATUSES }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    queueDeadlineAt: integer("queue_deadline_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    cancelRequestedAt: integer("cancel_requested_at"),
    attempt: integer("attempt").notNull().default(0),
    nodeCount: integer("node_count").notNull(),
    progress: text("progress", { mode: "json" }).$type<JobProgress>(),
    /** When the current attempt was dispatched (its GPU time counts from here). */
    attemptStartedAt: integer("attempt_started_at"),
    /** GPU time of the attempts that ended, in ms: dispatch to the attempt's end (src/jobs/lifecycle.ts). */
    gpuMs: integer("gpu_ms").notNull().default(0),
    /** What the host measured of the current attempt (src/jobs/view.ts `timings`). */
    timings: text("timings", { mode: "json" }).$type<JobTimings>(),
    error: text("error", { mode: "json" }).$type<JobError>(),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    webhookUrl: text("webhook_url"),
    webhookEvents: text("webhook_events", { mode: "json" }).$type<string[]>(),
    /** GPU pool the job runs in, and the host running its current attempt. */
    pool: text("pool").notNull().default("default"),
    /** The pool's Dispatcher shard that holds the job (src/dispatch/shards.ts): its tenant's, until another shard's host steals it. */
    dispatcherShard: integer("dispatcher_shard").notNull().default(0),
    hostId: text("host_id"),
    /** Origin the job was submitted through: webhook payloads build their output URLs on it. */
    webhookBaseUrl: text("webhook_base_url"),
    /** Set when the webhook receiver answered 410 Gone: no more deliveries until a redelivery. */
    webhookGoneAt: integer("webhook_gone_at"),
  },
  (t) => [
    index("jobs_user_created_idx").on(t.tenantId, t.userId, t.createdAt, t.id),
    index("jobs_user_status_created_idx").on(t.tenantId, t.userId, t.status, t.createdAt, t.id),
    // Active jobs by age: queue timeouts, reconciliation of quota reservations.
    index("jobs_active_idx").on(t.status, t.createdAt).where(sql`status IN ('queued', 'running')`),
    // Recent failures by finish time (GET /v1/admin/failures): only failed jobs are in it, so a
    // window reads its own failures and nothing else, however many jobs succeeded meanwhile.
    index("jobs_failed_finished_idx").on(t.finishedAt).where(sql`status = 'failed'`),
    // Retention (src/retention/): a tenant's ended jobs, oldest first; live jobs are not in it.
    index("jobs_tenant_ended_idx").on(t.tenantId, t.finishedAt).where(sql`status IN ('succeeded', 'failed', 'cancelled')`),
  ],
);

/** The submitted workflow, kept apart from `jobs` so listing never reads the (large) graph. */
export const jobWorkflows = sqliteTable("job_workflows", {
  jobId: text("job_id")
    .primaryKey()
    .references(() => jobs.id, { onDelete: "cascade" }),
  workflow: text("workflow", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
  /** What a host must have to run it (src/workflows/needs.ts); null for jobs submitted before placement. */
  needs: text("needs", { mode: "json" }).$type<JobNeeds>(),
});

/** Files given as inputs (URL, data: URI or upload), stored in R2; hosts fetch them from the edge. */
export const jobInputs = sqliteTable(
  "job_inputs",
  {
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    id: text("id").notNull(),
    nodeId: text("node_id").notNull(),
    inputName: text("input_name").notNull(),
    r2Key: text("r2_key").notNull(),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
  },
  // By key: an upload's bytes are kept while a job still refers to them (src/retention/).
  (t) => [primaryKey({ columns: [t.jobId, t.id] }), index("job_inputs_r2_key_idx").on(t.r2Key)],
);

/** Files a job produced, per attempt (only the succeeding attempt's are shown). */
export const jobOutputs = sqliteTable(
  "job_outputs",
  {
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    name: text("name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    r2Key: text("r2_key").notNull(),
    nodeId: text("node_id").notNull(),
    kind: text("kind").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.attempt, t.name] })],
);

/** Files uploaded ahead with `POST /v1/uploads`, referenced as `upload:<id>` by their owner. */
export const uploads = sqliteTable(
  "uploads",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    userId: text("user_id").notNull(),
    r2Key: text("r2_key").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    width: integer("width").notNull(),
    height: integer("height").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("uploads_tenant_user_idx").on(t.tenantId, t.userId, t.createdAt), index("uploads_expires_idx").on(t.expiresAt)],
);

/**
 * GPU pools: a class of hosts with its own Dispatcher. The config's DEFAULT_POOL exists whether or
 * not it has a row here (src/pools/pools.ts); a row only adds its description, GPU and timeout.
 */
export const pools = sqliteTable("pools", {
  name: text("name").primaryKey(),
  description: text("description"),
  gpuModel: text("gpu_model"),
  gpuVramGb: integer("gpu_vram_gb"),
  /** Overrides QUEUED_TIMEOUT_SECONDS for this pool's jobs (null: the config's). */
  queueTimeoutSeconds: integer("queue_timeout_seconds"),
  /** "required" (null): hosts must have a job's model files; "on_demand": hosts fetch them (src/pools/pools.ts). */
  modelFiles: text("model_files").$type<ModelFilesPolicy>(),
  /** Registry model ids (shared scope) the pool's hosts always keep (src/models/pinned.ts). */
  pinnedModels: text("pinned_models", { mode: "json" }).$type<string[]>(),
  /** Hosts forward running jobs' sampler previews (null: on). */
  previews: integer("previews", { mode: "boolean" }),
  /** How the pool's hosts are launched and scaled (src/capacity/settings.ts); null: registered by hand. */
  autoscaling: text("autoscaling", { mode: "json" }).$type<Autoscaling>(),
  /** What a GPU-second of this pool costs, in USD, for the usage reports (null: not priced). */
  pricePerGpuSecond: real("price_per_gpu_second"),
  /** Dispatcher objects the pool is spread over (1-16; docs/scale.md). It only ever grows. */
  dispatcherShards: integer("dispatcher_shards").notNull().default(1),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Bytes each tenant holds in R2 that count against its storage quota: outputs, uploads and
 * private model files. Changed in the same D1 batch as the rows it counts, so it never drifts.
 */
export const tenantStorage = sqliteTable("tenant_storage", {
  tenantId: text("tenant_id").primaryKey(),
  bytes: integer("bytes").notNull().default(0),
});

/** Registered GPU hosts. Live state (heartbeats, free slots) lives in the pool's Dispatcher. */
export const gpuHosts = sqliteTable(
  "gpu_hosts",
  {
    id: text("id").primaryKey(),
    pool: text("pool").notNull(),
    url: text("url").notNull(),
    slots: integer("slots").notNull(),
    // AES-GCM ciphertext of the host's Standard Webhooks secret (it signs host → edge calls).
    secretCiphertext: text("secret_ciphertext").notNull(),
    // After a rotation (POST /v1/admin/hosts/{id}/secret): the secret it replaced, still accepted
    // until previous_secret_expires_at, so the host can switch without a failed request.
    previousSecretCiphertext: text("previous_secret_ciphertext"),
    previousSecretExpiresAt: integer("previous_secret_expires_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    drainingAt: integer("draining_at"),
    /** The pool's Dispatcher shard the host belongs to, for good (set at registration: the one with fewest hosts). */
    dispatcherShard: integer("dispatcher_shard").notNull().default(0),
  },
  (t) => [index("gpu_hosts_pool_idx").on(t.pool)],
);

/**
 * GPU time per tenant, UTC month ("YYYY-MM") and pool, in ms: what the monthly spend cap and the
 * usage reports read. Added to in the batch of a job's terminal compare-and-set, once per job.
 */
export const gpuUsageMonthly = sqliteTable(
  "gpu_usage_monthly",
  {
    tenantId: text("tenant_id").notNull(),
    month: text("month").notNull(),
    pool: text("pool").notNull(),
    gpuMs: integer("gpu_ms").notNull(),
    jobs: integer("jobs").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.month, t.pool] }), index("gpu_usage_monthly_month_idx").on(t.month)],
);

/**
 * The GPU instances the autoscaler launched (a pool's PoolScaler owns its rows): what it knows of
 * each, and the billing record once it is terminated (launched_at → terminated_at, booting
 * included, since providers bill it). ready_at − launched_at is the pool's cold start.
 */
export const gpuInstances = sqliteTable(
  "gpu_instances",
  {
    id: text("id").primaryKey(),
    pool: text("pool").notNull(),
    provider: text("provider").notNull(),
    providerId: text("provider_id"),
    /** The host it runs (gpu_hosts.id; the row is removed when the instance is terminated). */
    hostId: text("host_id").notNull(),
    /** launching: asked for; booting: accepted, not ready; ready; draining; terminating; terminated. */
    state: text("state").notNull(),
    launchedAt: integer("launched_at").notNull(),
    readyAt: integer("ready_at"),
    drainingAt: integer("draining_at"),
    terminatedAt: integer("terminated_at"),
    terminateReason: text("terminate_reason"),
    /** The last time it had a job (the idle window counts from it). */
    lastBusyAt: integer("last_busy_at"),
    costPerHour: real("cost_per_hour"),
  },
  (t) => [
    index("gpu_instances_pool_live_idx").on(t.pool).where(sql`terminated_at IS NULL`),
    index("gpu_instances_pool_terminated_idx").on(t.pool, t.terminatedAt),
    index("gpu_instances_host_idx").on(t.hostId),
  ],
);

/**
 * One-time bootstrap tokens of GPU hosts (src/protocol/bootstrap.ts), by the SHA-256 of the token:
 * the token itself is never stored. Redeeming deletes the row, so a token works once.
 */
export const hostBootstrapTokens = sqliteTable(
  "host_bootstrap_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    hostId: text("host_id")
      .notNull()
      .references(() => gpuHosts.id, { onDelete: "cascade" }),
    expiresAt: integer("expires_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("host_bootstrap_tokens_host_idx").on(t.hostId)],
);

export const WEBHOOK_MESSAGE_STATES = ["pending", "delivered", "failed", "gone"] as const;
export type WebhookMessageState = (typeof WEBHOOK_MESSAGE_STATES)[number];

/**
 * The webhook outbox: one row per event to deliver (its id is the `webhook-id`, stable across
 * retries). Written in the same D1 batch as the job's status change, so an event can never be
 * lost between the change and its delivery. The unique index makes that write idempotent.
 */
export const webhookMessages = sqliteTable(
  "webhook_messages",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    type: text("type").notNull(),
    /** The job's attempt when the event happened (job.running happens once per attempt). */
    jobAttempt: integer("job_attempt").notNull(),
    url: text("url").notNull(),
    occurredAt: integer("occurred_at").notNull(),
    state: text("state", { enum: WEBHOOK_MESSAGE_STATES }).notNull(),
    /** Attempts made so far, redeliveries included. */
    attempts: integer("attempts").notNull().default(0),
    /** Position in the retry schedule; a redelivery starts it again. */
    step: integer("step").notNull().default(0),
    /** When the next attempt is due; null unless pending. */
    nextAttemptAt: integer("next_attempt_at"),
    lastAttemptAt: integer("last_attempt_at"),
    updatedAt: integer("updated_at").notNull(),
    /**
     * When the payload's output URLs were signed (their lifetime counts from it): fixed at the first
     * attempt, so every attempt and redelivery of the message sends the same bytes.
     */
    linksSignedAt: integer("links_signed_at"),
  },
  (t) => [
    uniqueIndex("webhook_messages_event_uq").on(t.jobId, t.type, t.jobAttempt),
    index("webhook_messages_job_idx").on(t.jobId, t.occurredAt),
    // Overdue pending messages: the sweeper's safety net for a delivery that was never scheduled.
    index("webhook_messages_due_idx").on(t.nextAttemptAt).where(sql`state = 'pending'`),
  ],
);

/** Every delivery attempt: what was sent when, and what came back (the delivery log). */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text("id").primaryKey(),
    messageId: text("message_id")
      .notNull()
      .references(() => webhookMessages.id, { onDelete: "cascade" }),
    jobId: text("job_id").notNull(),
    attemptedAt: integer("attempted_at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    /** HTTP status of the answer; null when there was none (timeout, network, refused URL). */
    statusCode: integer("status_code"),
    /** Why the attempt failed when there is no status to say it: `{code, message}`. */
    error: text("error", { mode: "json" }).$type<{ code: string; message: string }>(),
    /** What the attempt led to: delivered, retry (scheduled), failed (gave up), gone (410). */
    outcome: text("outcome", { enum: ["delivered", "retry", "failed", "gone"] }).notNull(),
  },
  (t) => [index("webhook_attempts_job_idx").on(t.jobId, t.attemptedAt)],
);

export type TenantRow = typeof tenants.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;
export type JobOutputRow = typeof jobOutputs.$inferSelect;
export type JobInputRow = typeof jobInputs.$inferSelect;
export type GpuHostRow = typeof gpuHosts.$inferSelect;
export type PoolRow = typeof pools.$inferSelect;
export type WebhookMessageRow = typeof webhookMessages.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

/** uploading → verifying → ready | failed for an upload; importing → ready | failed for a URL source. */
export const MODEL_BLOB_STATES = ["uploading", "importing", "verifying", "ready", "failed"] as const;
export type ModelBlobState = (typeof MODEL_BLOB_STATES)[number];

/** How a model blob got (or gets) its bytes. */
export type ModelSource = { kind: "upload" } | { kind: "url"; url: string };

/** A part of a multipart model upload the edge received (R2's etag, checked sizes and SHA-256). */
export interface ModelPart {
  n: number;
  etag: string;
  size: number;
  sha256: string;
}

/**
 * The bytes of registered model files, once per (scope, SHA-256): `shared` for the operators'
 * registry, a tenant id for a tenant's private models. Stored in R2 by hash (src/blobs/keys.ts),
 * uploaded in parts (R2 multipart) and verified whole, or downloaded from their `source` URL and
 * hashed as they stream, before they become `ready`.
 */
export const modelBlobs = sqliteTable(
  "model_blobs",
  {
    scope: text("scope").notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    state: text("state", { enum: MODEL_BLOB_STATES }).notNull(),
    source: text("source", { mode: "json" }).notNull().$type<ModelSource>(),
    /** The R2 multipart upload while `uploading`. */
    uploadId: text("upload_id"),
    partSize: integer("part_size"),
    parts: text("parts", { mode: "json" }).$type<ModelPart[]>(),
    /** Why it is `failed`, in words an operator can act on. */
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.sha256] })],
);

/** Registered model files: a name in a ComfyUI folder for a blob of the same scope. */
export const models = sqliteTable(
  "models",
  {
    id: text("id").primaryKey(),
    scope: text("scope").notNull(),
    folder: text("folder").notNull(),
    name: text("name").notNull(),
    sha256: text("sha256").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("models_scope_path_idx").on(t.scope, t.folder, t.name), index("models_scope_blob_idx").on(t.scope, t.sha256)],
);

/** Per attempt, what the host measured; reset with each new attempt. */
export interface JobTimings {
  model_fetch_ms?: number;
  input_fetch_ms?: number;
  execution_ms?: number;
  upload_ms?: number;
}

export type ModelBlobRow = typeof modelBlobs.$inferSelect;
export type ModelRow = typeof models.$inferSelect;
export type GpuInstanceRow = typeof gpuInstances.$inferSelect;
