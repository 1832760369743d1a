/**
 * Vets a customer's webhook URL: the same policy and DNS check as image URLs, without fetching.
 * Call it when the URL is submitted and again before every delivery (a name's answers can change
 * between the two), then deliver to the returned `url.href` with `redirect: "manual"` — a
 * webhook receiver has no business redirecting a signed POST elsewhere.
 *
 * Webhooks default to https only: the payload and its signature would otherwise cross the
 * Internet in clear text. Pass `schemes` to relax that (local tests use `OUTBOUND_ALLOW_HOSTS`,
 * which already lifts the scheme rule for their exact host:port).
 */
import { type CheckUrlOptions, checkUrl } from "./check-url.ts";
import { type Refusal, refuse, type UrlRefusalReason } from "./refusal.ts";

export const WEBHOOK_SCHEMES: readonly string[] = ["https:"];
export const DEFAULT_WEBHOOK_CHECK_TIMEOUT_MS = 5000;

export interface WebhookCheckOptions extends CheckUrlOptions {
  /** Deadline for the DNS part. Default 5000 ms. */
  timeoutMs?: number;
}

export type WebhookVerdict = { ok: true; url: URL; allowListed: boolean } | Refusal<UrlRefusalReason | "timeout">;

export async function checkWebhookUrl(url: string, options: WebhookCheckOptions = {}): Promise<WebhookVerdict> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_CHECK_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  try {
    return await checkUrl(url, { schemes: WEBHOOK_SCHEMES, ...options, signal }, "The webhook URL");
  } catch (err) {
    if (options.signal?.aborted || !deadline.aborted) throw err;
    return refuse("timeout", `The webhook URL's host name could not be checked within ${timeoutMs / 1000} seconds; try again.`);
  }
}
