/**
 * Retries at the fetch level, so every call gets the same policy: a 429 (the request was refused,
 * nothing happened) is always retried; a 503 or a network error only when repeating the request
 * cannot do anything twice, i.e. GET/HEAD/DELETE or a request with an Idempotency-Key. The wait is
 * the answer's `Retry-After` (seconds or an HTTP date), else exponential backoff with jitter,
 * capped at `maxDelayMs`.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

const REPEATABLE = new Set(["GET", "HEAD", "DELETE", "OPTIONS"]);

export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const s = header.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function retryingFetch(base: (request: Request) => Promise<Response>, policy: RetryPolicy, sleep = defaultSleep): (input: Request) => Promise<Response> {
  return async (request: Request) => {
    const repeatable = REPEATABLE.has(request.method) || request.headers.has("Idempotency-Key");
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= policy.attempts;
      let res: Response;
      try {
        res = await base(last ? request : request.clone());
      } catch (err) {
        if (last || !repeatable || request.signal.aborted) throw err;
        await sleep(backoff(policy, attempt), request.signal);
        continue;
      }
      const retry = res.status === 429 || (res.status === 503 && repeatable);
      if (!retry || last) return res;
      const wait = Math.min(policy.maxDelayMs, retryAfterMs(res.headers.get("Retry-After")) ?? backoff(policy, attempt));
      await res.body?.cancel().catch(() => {});
      await sleep(wait, request.signal);
    }
  };
}

function backoff(policy: RetryPolicy, attempt: number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return exp / 2 + Math.random() * (exp / 2);
}

export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
