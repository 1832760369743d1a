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
