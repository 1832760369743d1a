/** `GET /v1/usage`: where the caller stands against the tenant's admission limits. */
import { createRoute, z } from "@hono/zod-openapi";
import { usageOf } from "../admission/quota.ts";
import { rateLimitHeaders } from "../admission/rate-limit-headers.ts";
import { spendStanding } from "../admission/spend-cap.ts";
import { storageStanding } from "../admission/storage-quota.ts";
import { authenticate } from "../auth/authenticate.ts";
import { createDb } from "../db/client.ts";
import { LimitsSchema } from "./admin.schemas.ts";
import { commonProblems } from "./problem.schemas.ts";
import { newRouter, userSecurity } from "./router.ts";

const UsageSchema = z
  .object({
    user_active_jobs: z.number().int().openapi({ description: "The caller's queued + running jobs." }),
    tenant_active_jobs: z.number().int().openapi({ description: "The tenant's queued + running jobs." }),
    submissions_last_minute: z.number().int(),
    submissions_remaining: z.number().int().openapi({ description: "Submissions still allowed in the current 60 s window." }),
    window_reset_seconds: z.number().int().openapi({ description: "When the oldest submission leaves the window (0 if none)." }),
    gpu_seconds_this_month: z.number().openapi({ description: "GPU time the tenant's ended jobs used this UTC month, every pool." }),
    gpu_seconds_remaining: z.number().nullable().openapi({ description: "Before limits.gpu_seconds_per_month is reached (null: no cap)." }),
    month: z.string().openapi({ description: "The UTC month the GPU figures are for (YYYY-MM)." }),
    storage_bytes_used: z.number().int().openapi({ description: "Bytes of outputs, uploads and private model files the tenant holds." }),
    storage_bytes_remaining: z
      .number()
      .int()
      .openapi({ description: "Before limits.storage_bytes is reached (0: submits and uploads get 429 storage-quota-exceeded)." }),
    limits: LimitsSchema,
  })
  .openapi("Usage");

const usageRoute = createRoute({
  method: "get",
  path: "/",
  summary: "The caller's and the tenant's usage against their limits",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  responses: { 200: { description: "Usage", content: { "application/json": { schema: UsageSchema } } }, ...commonProblems },
});

export const usageRoutes = newRouter().openapi(usageRoute, async (c) => {
  const { principal } = c.var;
  const cap = principal.limits.gpu_seconds_per_month;
  const [usage, spend, storage] = await Promise.all([
    usageOf(c.env, principal.tenantId, principal.userId, principal.limits, c.var.log),
    spendStanding(createDb(c.env.DB), principal.tenantId, cap, Date.now()),
    storageStanding(createDb(c.env.DB), principal.tenantId, principal.limits.storage_bytes),
  ]);
  for (const [name, value] of Object.entries(rateLimitHeaders(usage))) c.header(name, value);
  c.header("Cache-Control", "no-store");
  return c.json(
    {
      user_active_jobs: usage.user_active,
      tenant_active_jobs: usage.tenant_active,
      submissions_last_minute: usage.window_used,
      submissions_remaining: Math.max(0, usage.limits.requests_per_minute - usage.window_used),
      window_reset_seconds: usage.window_used === 0 ? 0 : usage.window_reset_seconds,
      gpu_seconds_this_month: Math.round(spend.usedSeconds * 10) / 10,
      gpu_seconds_remaining: spend.remainingSeconds === null ? null : Math.round(spend.remainingSeconds * 10) / 10,
      month: spend.month,
      storage_bytes_used: storage.used,
      storage_bytes_remaining: Math.max(0, storage.quota - storage.used),
      limits: usage.limits,
    },
    200,
  );
});
