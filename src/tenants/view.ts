/** The admin API's representation of a tenant. Secrets never appear here. */

import { DEFAULT_JWT_ALGORITHMS } from "../auth/jwt.ts";
import type { Config } from "../config/schema.ts";
import type { ApiKeyRow, TenantRow } from "../db/schema.ts";
import { effectiveLimits } from "./limits.ts";

const iso = (ms: number) => new Date(ms).toISOString();

export function tenantView(row: TenantRow, config: Config) {
  return {
    id: row.id,
    name: row.name,
    limits: effectiveLimits(row, config),
    limit_overrides: {
      max_active_jobs_per_user: row.maxActiveJobsPerUser,
      max_active_jobs_per_tenant: row.maxActiveJobsPerTenant,
      requests_per_minute: row.requestsPerMinute,
      uploads_per_day: row.uploadsPerDay,
      upload_bytes_per_day: row.uploadBytesPerDay,
      model_files: row.modelFiles,
      model_bytes: row.modelBytes,
      gpu_seconds_per_month: row.gpuSecondsPerMonth,
      retention_days: row.retentionDays,
      storage_bytes: row.storageBytes,
    },
    jwt:
      row.jwtIssuer && row.jwtAudience
        ? {
            issuer: row.jwtIssuer,
            audience: row.jwtAudience,
            jwks_url: row.jwtJwksUrl,
            has_public_key: row.jwtPublicKey !== null,
            algorithms: row.jwtAlgorithms ?? DEFAULT_JWT_ALGORITHMS,
          }
        : null,
    default_pool: row.defaultPool,
    effective_default_pool: row.defaultPool ?? config.DEFAULT_POOL,
    allowed_pools: row.allowedPools,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    deleted_at: row.deletedAt === null ? null : iso(row.deletedAt),
  };
}

export function apiKeyView(row: ApiKeyRow) {
  return {
    id: row.id,
    tenant_id: row.tenantId,
    name: row.name,
    created_at: iso(row.createdAt),
    revoked_at: row.revokedAt === null ? null : iso(row.revokedAt),
  };
}
