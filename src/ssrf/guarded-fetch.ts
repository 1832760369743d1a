/**
 * GET a user-supplied URL from the Worker without letting it reach anything but the public
 * Internet, and without letting it cost more than a fixed time and memory budget.
 *
 * Every hop (the first URL and each redirect target) passes `checkUrl` (policy + DNS) before it is
 * fetched, and is fetched by its parsed `href`. Redirects are never followed by the runtime
 * (`redirect: "manual"`): each `Location` is resolved against the current URL, refused if it
 * downgrades https to http, re-checked in full, and at most `maxRedirects` are followed. One
 * deadline (`AbortSignal.timeout`) covers DNS, connects, headers and body of all hops together.
 * The body is refused on a `Content-Length` over the cap and, since that header can be absent or
 * wrong, again while streaming once the counted (decoded) bytes pass it. Requests carry only an
 * `Accept` and a `User-Agent`: no cookies, no `Authorization`, nothing of the caller's.
 *
 * Trade-off: DNS checks cannot pin the address the runtime connects to (see dns.ts); the
 * remaining rebinding window is closed by Workers' egress and `global_fetch_strictly_public`,
 * not here. Allow-listed `host:port`s (dev/test) skip only the address/scheme/port checks.
 */
import { type CheckUrlOptions, checkUrl } from "./check-url.ts";
import { type FetchFn, globalFetch } from "./fetch-fn.ts";
import { readCapped } from "./read-capped.ts";
import { type FetchRefusalReason, type Refusal, refuse, type UrlRefusalReason } from "./refusal.ts";

export const DEFAULT_MAX_REDIRECTS = 3;
export const DEFAULT_USER_AGENT = "comfyui-saas-fetcher/1.0";

export interface GuardedFetchOptions extends CheckUrlOptions {
  /** Largest body accepted, in decoded bytes. */
  maxBytes: number;
  /** Deadline for the whole fetch, all hops, DNS and body included. */
  timeoutMs: number;
  /** Redirects followed before giving up. Default 3. */
  maxRedirects?: number;
  accept?: string;
  userAgent?: string;
  fetch?: FetchFn;
}

export type GuardedFetchResult =
  | { ok: true; url: string; status: number; headers: Headers; bytes: Uint8Array<ArrayBuffer> }
  | Refusal<UrlRefusalReason | FetchRefusalReason>;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const OK_STATUSES = new Set([200, 203]);

/** Drop a body we will not read, so the connection is released; never fails the fetch. */
async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

function mib(bytes: number): string {
  return bytes >= 1_048_576 ? `${Math.round((bytes / 1_048_576) * 10) / 10} MiB` : `${bytes} bytes`;
}

export async function guardedFetch(input: string, options: GuardedFetchOptions): Promise<GuardedFetchResult> {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const doFetch = options.fetch ?? globalFetch;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const timedOut = () =>
    refuse("timeout", `The URL did not deliver a complete response within ${options.timeoutMs / 1000} seconds; use a faster host or a smaller file.`);

  try {
    let subject = "The URL";
    let current: string | URL = input;
    // Bounded: one iteration per hop, at most maxRedirects + 1 hops.
    for (let redirects = 0; ; redirects++) {
      const check = await checkUrl(current, { ...options, signal }, subject);
      if (!check.ok) return check;
      const url = check.url;

      const res = await doFetch(url.href, {
        method: "GET",
        redirect: "manual",
        signal,
        headers: { accept: options.accept ?? "image/*", "user-agent": options.userAgent ?? DEFAULT_USER_AGENT },
      });

      if (REDIRECT_STATUSES.has(res.status)) {
        await discard(res);
        const location = res.headers.get("location");
        if (location === null || location.trim() === "") {
          return refuse("redirect", `The URL answered with a ${res.status} redirect but no Location; use the final URL of the file.`);
        }
        if (redirects >= maxRedirects) {
          return refuse("redirect-limit", `The URL redirects more than ${maxRedirects} times; use the final URL of the file.`);
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          return refuse("redirect", "The URL redirects to an invalid location; use the final URL of the file.");
        }
        if (url.protocol === "https:" && next.protocol === "http:") {
          return refuse("redirect", "The URL redirects from https to plain http; use a URL that stays on https.");
        }
        current = next;
        subject = "The URL's redirect target";
        continue;
      }

      if (!OK_STATUSES.has(res.status)) {
        await discard(res);
        // The status text is the remote's free-form string: not echoed into our problem detail.
        return refuse("http-status", `The URL answered HTTP ${res.status} instead of the file; check that it is publicly readable.`);
      }

      const declared = res.headers.get("content-length");
      if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > options.maxBytes) {
        await discard(res);
        return refuse("too-large", `The file is ${mib(Number(declared))}, more than the ${mib(options.maxBytes)} limit; send a smaller file.`);
      }
      const body = await readCapped(res.body, options.maxBytes, signal);
      if (!body.ok) {
        if (body.reason === "too-large") {
          return refuse("too-large", `The file is larger than the ${mib(options.maxBytes)} limit; send a smaller file.`);
        }
        if (options.signal?.aborted) throw options.signal.reason;
        return timedOut();
      }
      return { ok: true, url: url.href, status: res.status, headers: res.headers, bytes: body.bytes };
    }
  } catch {
    // Everything that throws in here is fetch or the body stream failing (or an abort). The
    // caller's own cancellation is not the user's fault: let it propagate as thrown.
    if (options.signal?.aborted) throw options.signal.reason;
    if (deadline.aborted) return timedOut();
    return refuse("network", "The URL's server could not be reached or closed the connection; check that it is online and public.");
  }
}
