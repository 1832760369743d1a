/**
 * The monthly GPU-second cap (`limits.gpu_seconds_per_month`): a tenant whose jobs used it this
 * UTC month gets 429 spend-cap-reached at submit, with `Retry-After` at the month's end and the
 * same RateLimit fields as the other limits. Read only for tenants that have a cap (one indexed D1
 * read); jobs already admitted still run, so a month can end slightly over the cap.
 */
import type { Db } from "../db/client.ts";
import { monthBounds, monthOf, tenantGpuMs } from "../db/gpu-usage.ts";
import { ProblemError } from "../http/problem.ts";

export interface SpendStanding {
  month: string;
  usedSeconds: number;
  /** null: no cap. */
  remainingSeconds: number | null;
  resetSeconds: number;
}

export async function spendStanding(db: Db, tenantId: string, capSeconds: number, now: number): Promise<SpendStanding> {
  const month = monthOf(now);
  const usedSeconds = (await tenantGpuMs(db, tenantId, month)) / 1000;
  return {
    month,
    usedSeconds,
    remainingSeconds: capSeconds > 0 ? Math.max(0, capSeconds - usedSeconds) : null,
    resetSeconds: Math.ceil((monthBounds(month).end - now) / 1000),
  };
}

export function spendHeaders(capSeconds: number, s: SpendStanding): Record<string, string> {
  const { start, end } = monthBounds(s.month);
  return {
    "RateLimit-Policy": `"gpu-seconds-per-month";q=${capSeconds};w=${Math.round((end - start) / 1000)}`,
    RateLimit: `"gpu-seconds-per-month";r=${Math.floor(s.remainingSeconds ?? capSeconds)};t=${s.resetSeconds}`,
  };
}

export async function refuseOverSpend(db: Db, tenantId: string, capSeconds: number, now: number): Promise<void> {
  if (capSeconds <= 0) return;
  const s = await spendStanding(db, tenantId, capSeconds, now);
  if ((s.remainingSeconds ?? 1) > 0) return;
  throw new ProblemError(
    "spend-cap-reached",
    `This tenant's jobs used ${Math.round(s.usedSeconds)} GPU-seconds in ${s.month} (limit ${capSeconds}); new jobs are refused until the month ends in ${s.resetSeconds} s, or until an operator raises limits.gpu_seconds_per_month.`,
    {
      extensions: { limit: capSeconds, current: Math.round(s.usedSeconds), "violated-policies": ["gpu-seconds-per-month"] },
      headers: { ...spendHeaders(capSeconds, s), "Retry-After": String(s.resetSeconds) },
    },
  );
}
