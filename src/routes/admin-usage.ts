/**
 * `/v1/admin/usage`: GPU time for a UTC month, per tenant and pool (from the jobs that ended) and
 * per pool (with the seconds its autoscaled hosts were billed, booting and idle included), turned
 * into money with each pool's `price_per_gpu_second` where it has one.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { createDb } from "../db/client.ts";
import { billedMsByPool, MONTH_RE, monthOf, monthUsage } from "../db/gpu-usage.ts";
import { listPools } from "../pools/pools.ts";
import { commonProblems } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

const UsageQuery = z
  .object({
    month: z
      .string()
      .regex(MONTH_RE, "a UTC month as YYYY-MM")
      .optional()
      .openapi({ param: { name: "month", in: "query" }, description: "YYYY-MM (UTC); default: this month.", example: "2026-12" }),
  })
  .strict();

const money = z.number().nullable().openapi({ description: "USD, at the pool's price_per_gpu_second (null: the pool has no price)." });

const AdminUsageSchema = z
  .object({
    month: z.string(),
    tenants: z.array(
      z.object({
        tenant_id: z.string(),
        pool: z.string(),
        gpu_seconds: z.number(),
        jobs: z.number().int().openapi({ description: "Jobs that ended this month having used a GPU." }),
        cost_usd: money,
      }),
    ),
    pools: z.array(
      z.object({
        pool: z.string(),
        price_per_gpu_second: z.number().nullable(),
        job_gpu_seconds: z.number().openapi({ description: "GPU time of the pool's jobs (what tenants used)." }),
        billed_host_seconds: z
          .number()
          .openapi({ description: "Seconds its autoscaled hosts were billed this month (launch → termination; running ones up to now)." }),
        launched_instances: z.number().int(),
        job_cost_usd: money,
        billed_cost_usd: money,
      }),
    ),
  })
  .openapi("AdminUsage");

const usageRoute = createRoute({
  tags: ["admin"],
  security: adminSecurity,
  middleware: [requireAdmin],
  method: "get",
  path: "/",
  summary: "GPU time and its cost for a month, per tenant and pool",
  request: { query: UsageQuery },
  responses: { 200: { description: "Usage", content: { "application/json": { schema: AdminUsageSchema } } }, ...commonProblems },
});

const round1 = (n: number) => Math.round(n * 10) / 10;
const cost = (seconds: number, price: number | null) => (price === null ? null : Math.round(seconds * price * 100) / 100);

export const adminUsageRoutes = newRouter().openapi(usageRoute, async (c) => {
  const now = Date.now();
  const month = c.req.valid("query").month ?? monthOf(now);
  const db = createDb(c.env.DB);
  const [rows, billed, pools] = await Promise.all([monthUsage(db, month), billedMsByPool(db, month, now), listPools(db, c.var.config)]);
  const price = new Map(pools.map((p) => [p.name, p.price_per_gpu_second]));
  const jobMs = new Map<string, number>();
  for (const r of rows) jobMs.set(r.pool, (jobMs.get(r.pool) ?? 0) + r.gpuMs);
  const poolNames = [...new Set([...pools.map((p) => p.name), ...jobMs.keys(), ...billed.keys()])].sort();
  return c.json(
    {
      month,
      tenants: rows.map((r) => ({
        tenant_id: r.tenantId,
        pool: r.pool,
        gpu_seconds: round1(r.gpuMs / 1000),
        jobs: r.jobs,
        cost_usd: cost(r.gpuMs / 1000, price.get(r.pool) ?? null),
      })),
      pools: poolNames.map((pool) => {
        const p = price.get(pool) ?? null;
        const jobSeconds = (jobMs.get(pool) ?? 0) / 1000;
        const billedSeconds = (billed.get(pool)?.ms ?? 0) / 1000;
        return {
          pool,
          price_per_gpu_second: p,
          job_gpu_seconds: round1(jobSeconds),
          billed_host_seconds: round1(billedSeconds),
          launched_instances: billed.get(pool)?.instances ?? 0,
          job_cost_usd: cost(jobSeconds, p),
          billed_cost_usd: cost(billedSeconds, p),
        };
      }),
    },
    200,
  );
});
