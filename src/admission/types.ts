/** The TenantQuota RPC contract: what the Worker asks and the tagged outcomes it gets back. */
import type { Limits } from "../tenants/limits.ts";

export type UsageLimits = Limits;

export interface AdmitRequest {
  jobId: string;
  userId: string;
  limits: Limits;
  /** Tenant-scoped key plus a fingerprint of (user, body): same key + same fingerprint = replay. */
  idempotency?: { key: string; fingerprint: string };
}

export interface Usage {
  user_active: number;
  tenant_active: number;
  /** Submissions admitted in the last 60 seconds. */
  window_used: number;
  /** Seconds until the oldest submission leaves the window (≥ 1). */
  window_reset_seconds: number;
  limits: Limits;
}

export type LimitName = "active-jobs-per-user" | "active-jobs-per-tenant" | "requests-per-minute";

export type AdmitResult =
  | { ok: true; usage: Usage }
  | { ok: false; reason: LimitName; limit: number; current: number; retryAfter: number; usage: Usage }
  | { ok: false; reason: "idempotent-replay"; jobId: string; usage: Usage }
  | { ok: false; reason: "idempotency-mismatch"; usage: Usage };

// ===== Uploads: a sliding 24 h window of count and bytes per tenant =====

export interface UploadReserveRequest {
  uploadId: string;
  bytes: number;
  limits: Pick<Limits, "uploads_per_day" | "upload_bytes_per_day">;
}

export interface UploadUsage {
  /** Uploads stored in the last 24 hours, and their bytes. */
  count: number;
  bytes: number;
  /** Seconds until the oldest upload leaves the window (≥ 1; 0 when there is none). */
  reset_seconds: number;
  limits: Pick<Limits, "uploads_per_day" | "upload_bytes_per_day">;
}

export type UploadReserveResult =
  | { ok: true; usage: UploadUsage }
  | { ok: false; reason: "uploads-per-day" | "upload-bytes-per-day"; limit: number; current: number; retryAfter: number; usage: UploadUsage };
