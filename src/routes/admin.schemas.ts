/** Request and response schemas of `/v1/admin`. */

import { z } from "@hono/zod-openapi";
import { tenantJwtInput } from "../auth/jwt.ts";
import { AutoscalingInput, AutoscalingSchema } from "../capacity/settings.ts";
import { MAX_DISPATCHER_SHARDS } from "../dispatch/shards.ts";
import { MODEL_FILES_POLICIES } from "../pools/model-files.ts";
import { POOL_NAME_RE, POOL_NAME_RULE } from "../pools/name.ts";
import { pageQuery } from "./pagination.ts";

const limit = (max: number, what: string) => z.number().int().min(1).max(max).openapi({ description: what });

export const LimitsInput = z
  .object({
    max_active_jobs_per_user: limit(10_000, "Active (queued + running) jobs one end-user may have.").nullable().optional(),
    max_active_jobs_per_tenant: limit(1_000_000, "Active jobs the whole tenant may have.").nullable().optional(),
    requests_per_minute: limit(1_000_000, "Job submissions the tenant may make in any 60 s window.").nullable().optional(),
    uploads_per_day: limit(10_000_000, "Uploads (`POST /v1/uploads`) the tenant may store in any 24 h.").nullable().optional(),
    upload_bytes_per_day: limit(1_099_511_627_776, "Bytes the tenant may upload in any 24 h.").nullable().optional(),
    model_files: limit(100_000, "Private model files (`/v1/models`) the tenant may have.").nullable().optional(),
    model_bytes: limit(2 ** 46, "Bytes of private model files the tenant may have.")
      .nullable()
      .optional(),
    gpu_seconds_per_month: z
      .number()
      .int()
      .min(0)
      .max(10_000_000_000)
      .nullable()
      .optional()
      .openapi({ description: "GPU-seconds the tenant's jobs may use in a UTC calendar month; past it, submits get 429 spend-cap-reached. 0: no cap." }),
    retention_days: limit(3650, "Days an ended job (inputs, outputs, events, webhook log) is kept after it ended; then it is erased.").nullable().optional(),
    storage_bytes: limit(
      2 ** 50,
      "Bytes of outputs, uploads and private model files the tenant may hold; past it, submits and uploads get 429 storage-quota-exceeded.",
    )
      .nullable()
      .optional(),
  })
  .strict()
  .openapi("LimitsInput", { description: "Omit a field to keep it; null resets it to the deployment default." });

export const LimitsSchema = z
  .object({
    max_active_jobs_per_user: z.number().int(),
    max_active_jobs_per_tenant: z.number().int(),
    requests_per_minute: z.number().int(),
    uploads_per_day: z.number().int(),
    upload_bytes_per_day: z.number().int(),
    model_files: z.number().int(),
    model_bytes: z.number().int(),
    gpu_seconds_per_month: z.number().int().openapi({ description: "0: no cap." }),
    retention_days: z.number().int(),
    storage_bytes: z.number().int(),
  })
  .openapi("Limits", { description: "Effective limits (tenant overrides, else deployment defaults)." });

export const TenantJwtInput = tenantJwtInput.openapi("TenantJwtConfig");

const tenantPool = () => z.string().regex(POOL_NAME_RE, `a pool name: ${POOL_NAME_RULE}`);
const DefaultPoolInput = tenantPool()
  .nullable()
  .optional()
  .openapi({ description: "Where this tenant's submits without `pool` run; null: DEFAULT_POOL. Must be one of allowed_pools." });
const AllowedPoolsInput = z
  .array(tenantPool())
  .min(1)
  .max(100)
  .nullable()
  .optional()
  .openapi({ description: "The pools this tenant may use; null: every pool." });

export const CreateTenantBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    limits: LimitsInput.optional(),
    jwt: TenantJwtInput.optional(),
    default_pool: DefaultPoolInput,
    allowed_pools: AllowedPoolsInput,
  })
  .strict()
  .openapi("CreateTenant");

export const PatchTenantBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    limits: LimitsInput.optional(),
    jwt: TenantJwtInput.nullable().optional(),
    default_pool: DefaultPoolInput,
    allowed_pools: AllowedPoolsInput,
  })
  .strict()
  .openapi("PatchTenant");

export const TenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    limits: LimitsSchema,
    limit_overrides: z.object({
      max_active_jobs_per_user: z.number().int().nullable(),
      max_active_jobs_per_tenant: z.number().int().nullable(),
      requests_per_minute: z.number().int().nullable(),
      uploads_per_day: z.number().int().nullable(),
      upload_bytes_per_day: z.number().int().nullable(),
      model_files: z.number().int().nullable(),
      model_bytes: z.number().int().nullable(),
      gpu_seconds_per_month: z.number().int().nullable(),
      retention_days: z.number().int().nullable(),
      storage_bytes: z.number().int().nullable(),
    }),
    jwt: z
      .object({
        issuer: z.string(),
        audience: z.string(),
        jwks_url: z.string().nullable(),
        has_public_key: z.boolean(),
        algorithms: z.array(z.string()),
      })
      .nullable(),
    default_pool: z.string().nullable().openapi({ description: "Null: DEFAULT_POOL." }),
    effective_default_pool: z.string().openapi({ description: "Where a submit without `pool` runs." }),
    allowed_pools: z.array(z.string()).nullable().openapi({ description: "Null: every pool." }),
    created_at: z.string(),
    updated_at: z.string(),
    deleted_at: z
      .string()
      .nullable()
      .openapi({ description: "Set while the tenant is being deleted (DELETE /v1/admin/tenants/{id}); the tenant is gone (404) once its data is erased." }),
  })
  .openapi("Tenant");

export const ListTenantsQuery = z.object(pageQuery({ defaultLimit: 50, maxLimit: 200 })).strict();

export const TenantListSchema = z
  .object({
    data: z.array(TenantSchema),
    next_cursor: z.string().nullable().openapi({ description: "Pass it as `cursor` for the next page; null on the last page." }),
  })
  .openapi("TenantList");

export const CreatedTenantSchema = TenantSchema.extend({
  webhook_secret: z.string().openapi({ description: "Standard Webhooks signing secret (whsec_…). Shown only in this response." }),
}).openapi("CreatedTenant");

export const TenantIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});
export const KeyIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const CreateKeyBody = z
  .object({ name: z.string().trim().min(1).max(200).optional() })
  .strict()
  .openapi("CreateApiKey");

export const ApiKeySchema = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    name: z.string().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "The API key. Shown only in this response; store it now." }),
}).openapi("CreatedApiKey");

// ===== Pools

export const PoolName = z.string().regex(POOL_NAME_RE, `a pool name: ${POOL_NAME_RULE}`).openapi({ example: "l4" });

const GpuInput = z
  .object({
    model: z.string().trim().min(1).max(100).openapi({ example: "NVIDIA L4" }),
    vram_gb: z.number().int().min(1).max(4096).openapi({ example: 24 }),
  })
  .strict()
  .openapi("PoolGpu");

const QueueTimeout = z
  .number()
  .int()
  .min(1)
  .max(7 * 24 * 3600)
  .openapi({ description: "A job of this pool still waiting for a GPU this long after submission fails with `queue_timeout`; null: QUEUED_TIMEOUT_SECONDS." });

const ModelFiles = z.enum(MODEL_FILES_POLICIES).openapi({
  description:
    "required (default): a workflow naming a model file no live host of the pool has is refused at submit (422 missing-model), and a job runs only on a host that has every one. on_demand: hosts fetch model files as jobs need them, so neither applies (hosts holding them are still preferred).",
});

const PinnedModels = z
  .array(z.string().regex(/^mdl_[a-z2-7]{20}$/, "must be a model id (mdl_…) of /v1/admin/models"))
  .max(64)
  .openapi({
    description: "Registry models (ids of /v1/admin/models) every host of the pool keeps: fetched ahead of any job, never evicted from the host's model cache.",
  });

const Previews = z.boolean().openapi({
  description:
    "Whether hosts forward running jobs' sampler previews (job.preview events, GET /v1/jobs/{id}/preview); default true. ComfyUI only makes previews when started with --preview-method.",
});

const PricePerGpuSecond = z
  .number()
  .min(0)
  .max(1)
  .openapi({ description: "What one GPU-second of this pool costs, in USD (e.g. 0.00024 ≈ $0.86/h), for the usage reports; null: not priced." });

const DispatcherShards = z
  .number()
  .int(`dispatcher_shards must be a whole number from 1 to ${MAX_DISPATCHER_SHARDS}`)
  .min(1, `dispatcher_shards must be at least 1`)
  .max(MAX_DISPATCHER_SHARDS, `dispatcher_shards must be at most ${MAX_DISPATCHER_SHARDS}`)
  .openapi({
    description: `How many Dispatcher objects the pool's queue and hosts are spread over (1-${MAX_DISPATCHER_SHARDS}; default 1): a tenant's jobs queue in one shard, each host belongs to one, and idle hosts take work from other shards (docs/scale.md). It can only be raised: lowering it is refused (409), as the hosts and queued jobs of the shards it would drop live there.`,
  });

/** What a pool's create and change both take (a change never takes the name). */
const poolSettings = {
  autoscaling: AutoscalingInput.nullable().optional(),
  price_per_gpu_second: PricePerGpuSecond.nullable().optional(),
  description: z.string().trim().max(500).nullable().optional(),
  gpu: GpuInput.nullable().optional(),
  queue_timeout_seconds: QueueTimeout.nullable().optional(),
  model_files: ModelFiles.optional(),
  pinned_models: PinnedModels.optional(),
  previews: Previews.optional(),
  dispatcher_shards: DispatcherShards.optional(),
};

export const CreatePoolBody = z
  .object({ name: PoolName, ...poolSettings })
  .strict()
  .openapi("CreatePool");

export const PatchPoolBody = z
  .object(poolSettings)
  .strict()
  .openapi("PatchPool", { description: "Omit a field to keep it; null clears it. The name never changes." });

const PoolHostSchema = z.object({
  id: z.string(),
  live: z.boolean(),
  draining: z.boolean(),
  comfy: z.string(),
  lock_ok: z.boolean(),
  slots: z.number().int(),
  assigned: z.number().int(),
});

export const PoolLiveSchema = z
  .object({
    hosts: z.array(PoolHostSchema),
    live_hosts: z.number().int().openapi({ description: "Hosts that heartbeat, run ComfyUI, are not draining and have the expected lock hash." }),
    free_slots: z.number().int(),
    running: z.number().int(),
    queue_depth: z.number().int(),
    oldest_queued_at: z.string().nullable(),
  })
  .openapi("PoolStatus", { description: "What the pool's Dispatcher says now; null when it did not answer." });

export const PoolSchema = z
  .object({
    name: z.string(),
    description: z.string().nullable(),
    gpu: z.object({ model: z.string(), vram_gb: z.number().int() }).nullable(),
    queue_timeout_seconds: z.number().int().nullable(),
    effective_queue_timeout_seconds: z.number().int().openapi({ description: "queue_timeout_seconds, else QUEUED_TIMEOUT_SECONDS." }),
    model_files: ModelFiles,
    pinned_models: z.array(z.string()),
    previews: Previews,
    autoscaling: AutoscalingSchema.nullable().openapi({ description: "How its hosts are launched and scaled; null: registered by hand (docs/capacity.md)." }),
    price_per_gpu_second: z.number().nullable(),
    dispatcher_shards: DispatcherShards,
    is_default: z.boolean().openapi({ description: "The deployment's DEFAULT_POOL: it always exists." }),
    created_at: z.string().nullable().openapi({ description: "Null for DEFAULT_POOL until it is first changed." }),
    updated_at: z.string().nullable(),
    status: PoolLiveSchema.nullable(),
  })
  .openapi("Pool");

export const PoolNameParam = z.object({
  name: z
    .string()
    .max(64)
    .openapi({ param: { name: "name", in: "path" } }),
});
