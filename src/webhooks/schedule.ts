/**
 * When a webhook attempt is retried, and when delivery gives up: pure functions, no I/O.
 *
 * The first attempt is immediate; `WEBHOOK_RETRY_SCHEDULE` lists the delays before each retry
 * (default: the Standard Webhooks example schedule, 5 s … 24 h, about three days in all). Each
 * delay gets ±10 % jitter so a receiver coming back from an outage is not hit by every retry in
 * the same second. A `Retry-After` from the receiver is honoured by never retrying sooner than it
 * asks (capped at a day, so a hostile header cannot park a message forever).
 *
 * Outcomes are a closed set, decided by `decide` from what one attempt produced:
 * 2xx → delivered; 410 → gone (stop); anything else (3xx, 4xx, 5xx, timeout, network error, a URL
 * the SSRF guard refused for a reason that can change) → retry while the schedule lasts, then
 * failed; a URL refused for a reason that cannot change → failed at once.
 */

export const DEFAULT_RETRY_SCHEDULE = "5s,5m,30m,2h,5h,10h,14h,20h,24h";
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
const JITTER = 0.1;

/** `"5s,5m,2h"` → delays in ms; null when malformed. Bare numbers are seconds. */
export function parseSchedule(text: string): number[] | null {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length === 0 || parts.length > 20) return null;
  const out: number[] = [];
  for (const part of parts) {
    const m = /^(\d{1,6})([smh]?)$/.exec(part);
    if (!m) return null;
    const ms = Number(m[1]) * UNIT_MS[(m[2] || "s") as keyof typeof UNIT_MS];
    if (ms < 1000 || ms > 7 * 24 * 3_600_000) return null;
    out.push(ms);
  }
  return out;
}

/** `Retry-After` as delay-seconds or an HTTP date → ms from `now`; null when absent or unusable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** What one attempt produced. */
export type SendResult =
  | { kind: "response"; status: number; retryAfterMs: number | null }
  | { kind: "timeout"; afterMs: number }
  | { kind: "network"; message: string }
  /** The SSRF guard refused the URL; `permanent` when the reason cannot change by itself. */
  | { kind: "refused"; reason: string; detail: string; permanent: boolean }
  /** Nothing was sent: the job's webhook is switched off after a 410, or the job is gone. */
  | { kind: "skipped"; reason: "gone" | "job_deleted" };

export type Decision = { state: "delivered" } | { state: "gone" } | { state: "failed" } | { state: "pending"; nextAttemptAt: number };

/**
 * `step` is how many scheduled attempts this message has had before this one (0 for the first);
 * `random` is injectable so tests can pin the jitter.
 */
export function decide(result: SendResult, step: number, schedule: readonly number[], now: number, random: () => number = Math.random): Decision {
  let retryAfterMs: number | null = null;
  switch (result.kind) {
    case "response":
      if (result.status >= 200 && result.status < 300) return { state: "delivered" };
      if (result.status === 410) return { state: "gone" };
      retryAfterMs = result.retryAfterMs;
      break;
    case "refused":
      if (result.permanent) return { state: "failed" };
      break;
    case "skipped":
      return result.reason === "gone" ? { state: "gone" } : { state: "failed" };
    case "timeout":
    case "network":
      break;
    default: {
      const never: never = result;
      throw new Error(`unhandled send result ${JSON.stringify(never)}`);
    }
  }
  const delay = schedule[step];
  if (delay === undefined) return { state: "failed" };
  const jittered = Math.round(delay * (1 - JITTER + 2 * JITTER * random()));
  return { state: "pending", nextAttemptAt: now + Math.max(jittered, retryAfterMs ?? 0) };
}
