/**
 * `RateLimit-Policy` and `RateLimit` (IETF httpapi ratelimit-headers draft, structured fields):
 * one `concurrent-requests` policy per active-job cap and one 60 s window policy.
 */
import type { Usage } from "./types.ts";

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
