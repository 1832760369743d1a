/**
 * `RateLimit-Policy` and `RateLimit` (IETF httpapi ratelimit-headers draft, structured fields):
 * one `concurrent-requests` policy per active-job cap and one 60 s window policy.
 */
import type { UploadUsage, Usage } from "./types.ts";

export function rateLimitHeaders(usage: Usage): Record<string, string> {
  const { limits } = usage;
  const remaining = (limit: number, used: number) => Math.max(0, limit - used);
  return {
    "RateLimit-Policy": [
      `"active-jobs-per-user";q=${limits.max_active_jobs_per_user};qu="concurrent-requests"`,
      `"active-jobs-per-tenant";q=${limits.max_active_jobs_per_tenant};qu="concurrent-requests"`,
      `"requests-per-minute";q=${limits.requests_per_minute};w=60`,
    ].join(", "),
    RateLimit: [
      `"active-jobs-per-user";r=${remaining(limits.max_active_jobs_per_user, usage.user_active)}`,
      `"active-jobs-per-tenant";r=${remaining(limits.max_active_jobs_per_tenant, usage.tenant_active)}`,
      `"requests-per-minute";r=${remaining(limits.requests_per_minute, usage.window_used)};t=${usage.window_used === 0 ? 0 : usage.window_reset_seconds}`,
    ].join(", "),
  };
}

/** The upload quota's two 24 h policies: uploads counted, and bytes. */
export function uploadRateLimitHeaders(usage: UploadUsage): Record<string, string> {
  const { limits } = usage;
  const t = usage.count === 0 ? 0 : usage.reset_seconds;
  return {
    "RateLimit-Policy": [
      `"uploads-per-day";q=${limits.uploads_per_day};w=86400`,
      `"upload-bytes-per-day";q=${limits.upload_bytes_per_day};w=86400;qu="content-bytes"`,
    ].join(", "),
    RateLimit: [
      `"uploads-per-day";r=${Math.max(0, limits.uploads_per_day - usage.count)};t=${t}`,
      `"upload-bytes-per-day";r=${Math.max(0, limits.upload_bytes_per_day - usage.bytes)};t=${t}`,
    ].join(", "),
  };
}
