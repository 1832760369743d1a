/**
 * GPU time: per tenant, month and pool (gpu_usage_monthly, added to when a job ends) and the hosts
 * the autoscaler billed (gpu_instances, launch → termination). Months are UTC calendar months,
 * "YYYY-MM".
 */
import { and, eq, gt, isNull, lt, or, sql, sum } from "drizzle-orm";
import type { Db } from "./client.ts";
import { gpuInstances, gpuUsageMonthly } from "./schema.ts";

export const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** [start, end) of a month in ms. */
export function monthBounds(month: string): { start: number; end: number } {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return { start: Date.UTC(y, m - 1, 1), end: Date.UTC(y, m, 1) };
}

/** The tenant's GPU time this month, over every pool, in ms. */
export async function tenantGpuMs(db: Db, tenantId: string, month: string): Promise<number> {
  const row = await db
    .select({ ms: sum(gpuUsageMonthly.gpuMs) })
    .from(gpuUsageMonthly)
    .where(and(eq(gpuUsageMonthly.tenantId, tenantId), eq(gpuUsageMonthly.month, month)))
    .get();
  return Number(row?.ms ?? 0);
}

export interface TenantPoolUsage {
  tenantId: string;
  pool: string;
  gpuMs: number;
  jobs: number;
}

export async function monthUsage(db: Db, month: string): Promise<TenantPoolUsage[]> {
  return db
    .select({ tenantId: gpuUsageMonthly.tenantId, pool: gpuUsageMonthly.pool, gpuMs: gpuUsageMonthly.gpuMs, jobs: gpuUsageMonthly.jobs })
    .from(gpuUsageMonthly)
    .where(eq(gpuUsageMonthly.month, month))
    .orderBy(gpuUsageMonthly.tenantId, gpuUsageMonthly.pool)
    .all();
}

/** Per pool: the ms its launched hosts were billed within the month (running ones up to `now`), and how many there were. */
export async function billedMsByPool(db: Db, month: string, now: number): Promise<Map<string, { ms: number; instances: number }>> {
  const { start, end } = monthBounds(month);
  const until = sql`coalesce(${gpuInstances.terminatedAt}, ${now})`;
  const rows = await db
    .select({
      pool: gpuInstances.pool,
      ms: sql<number>`sum(max(0, min(${until}, ${end}) - max(${gpuInstances.launchedAt}, ${start})))`,
      instances: sql<number>`count(*)`,
    })
    .from(gpuInstances)
    .where(and(lt(gpuInstances.launchedAt, end), or(isNull(gpuInstances.terminatedAt), gt(gpuInstances.terminatedAt, start))))
    .groupBy(gpuInstances.pool)
    .all();
  return new Map(rows.map((r) => [r.pool, { ms: Number(r.ms), instances: Number(r.instances) }]));
}

/** The pool's recent cold starts (launch → ready), newest first, in ms. */
export async function recentColdStartsMs(db: Db, pool: string, limit: number): Promise<number[]> {
  const rows = await db
    .select({ launchedAt: gpuInstances.launchedAt, readyAt: gpuInstances.readyAt })
    .from(gpuInstances)
    .where(and(eq(gpuInstances.pool, pool), sql`${gpuInstances.readyAt} IS NOT NULL`))
    .orderBy(sql`${gpuInstances.launchedAt} DESC`)
    .limit(limit)
    .all();
  return rows.map((r) => (r.readyAt as number) - r.launchedAt);
}
