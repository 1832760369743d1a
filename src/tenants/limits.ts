/** A tenant's effective limits: its own overrides, else the deployment defaults from config. */
import type { Config } from "../config/schema.ts";
import type { TenantRow } from "../db/schema.ts";

export interface Limits {
  max_active_jobs_per_user: number;
  max_active_jobs_per_tenant: number;
  requests_per_minute: number;
  uploads_per_day: number;
  upload_bytes_per_day: number;
  model_files: number;
  model_bytes: number;
  /** GPU-seconds per UTC month (0: no cap). */
  gpu_seconds_per_month: number;
  /** Days an ended job is kept (src/retention/). */
  retention_days: number;
  /** Bytes of outputs + uploads + private models the tenant may hold. */
  storage_bytes: number;
}

type LimitColumns = Pick<
  TenantRow,
  | "maxActiveJobsPerUser"
  | "maxActiveJobsPerTenant"
  | "requestsPerMinute"
  | "uploadsPerDay"
  | "uploadBytesPerDay"
  | "modelFiles"
  | "modelBytes"
  | "gpuSecondsPerMonth"
  | "retentionDays"
  | "storageBytes"
>;

export function effectiveLimits(tenant: LimitColumns, config: Config): Limits {
  return {
    max_active_jobs_per_user: tenant.maxActiveJobsPerUser ?? config.MAX_ACTIVE_JOBS_PER_USER,
    max_active_jobs_per_tenant: tenant.maxActiveJobsPerTenant ?? config.MAX_ACTIVE_JOBS_PER_TENANT,
    requests_per_minute: tenant.requestsPerMinute ?? config.REQUESTS_PER_MINUTE,
    uploads_per_day: tenant.uploadsPerDay ?? config.UPLOADS_PER_DAY,
    upload_bytes_per_day: tenant.uploadBytesPerDay ?? config.UPLOAD_BYTES_PER_DAY,
    model_files: tenant.modelFiles ?? config.TENANT_MAX_MODELS,
    model_bytes: tenant.modelBytes ?? config.TENANT_MODEL_BYTES,
    gpu_seconds_per_month: tenant.gpuSecondsPerMonth ?? config.GPU_SECONDS_PER_MONTH,
    retention_days: tenant.retentionDays ?? config.RETENTION_DAYS,
    storage_bytes: tenant.storageBytes ?? config.STORAGE_BYTES,
  };
}
