/**
 * One HTTP attempt at a webhook: POST the exact signed bytes, never follow a redirect, give up
 * after the timeout, and say what happened as a `SendResult` (src/webhooks/schedule.ts).
 *
 * `redirect: "manual"` hands us the 3xx itself: a receiver has no business sending a signed POST
 * elsewhere, and following it would let a public URL bounce us onto an address the SSRF guard
 * refused. The deadline covers connect and headers; the body of the answer is never read (its
 * status is all that matters), so a receiver cannot make us download anything.
 */

import { errorText } from "../lib/log.ts";
import { type FetchFn, globalFetch } from "../ssrf/fetch-fn.ts";
import { parseRetryAfter, type SendResult } from "./schedule.ts";

export const USER_AGENT = "comfyui-saas-webhooks/1.0";

export interface Timed {
  result: SendResult;
  startedAt: number;
  durationMs: number;
}

export async function sendOnce(url: string, body: string, headers: Record<string, string>, timeoutMs: number, fetchFn: FetchFn = globalFetch): Promise<Timed> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const startedAt = Date.now();
  const done = (result: SendResult): Timed => ({ result, startedAt, durationMs: Math.max(0, Date.now() - startedAt) });
  try {
    const res = await fetchFn(url, {
      method: "POST",
      body,
      redirect: "manual",
      signal: deadline,
      headers: { ...headers, "content-type": "application/json", "user-agent": USER_AGENT },
    });
    const timed = done({ kind: "response", status: res.status, retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), Date.now()) });
    await res.body?.cancel().catch(() => undefined);
    return timed;
  } catch (err) {
    if (deadline.aborted) return done({ kind: "timeout", afterMs: timeoutMs });
    return done({ kind: "network", message: errorText(err) });
  }
}
