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
 * `guardedFetchStream` shares the hops and checks but hands back the final response's body as a
 * stream (for files too large to hold): its deadline covers DNS, connects and headers only, and the
 * caller counts and caps the body as it reads it (its own signal still cuts the body short).
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

/** What every hop of both variants is checked and fetched with. */
export interface HopOptions extends CheckUrlOptions {
  /** Redirects followed before giving up. Default 3. */
  maxRedirects?: number;
  accept?: string;
  userAgent?: string;
  fetch?: FetchFn;
}

export interface GuardedFetchOptions extends HopOptions {
  /** Largest body accepted, in decoded bytes. */
  maxBytes: number;
  /** Deadline for the whole fetch, all hops, DNS and body included. */
  timeoutMs: number;
}

export interface GuardedStreamOptions extends HopOptions {
  /** Deadline for every hop's DNS, connect and headers; the body is the caller's to time. */
  headersTimeoutMs: number;
  /** A `Content-Length` above this is refused before the body is read (the caller still counts). */
  maxBytes?: number;
}

export type GuardedStreamResult =
  | { ok: true; url: string; status: number; headers: Headers; body: ReadableStream<Uint8Array>; contentLength: number | null }
  | Refusal<UrlRefusalReason | FetchRefusalReason>;

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

type Hops = { ok: true; url: URL; res: Response } | Refusal<UrlRefusalReason | FetchRefusalReason>;

/**
 * Follows `input` through at most `maxRedirects` checked redirects to a 200/203 whose body is not
 * yet read. Throws what fetch throws (network, abort): the callers tell a deadline from a failure.
 */
async function followHops(input: string, options: HopOptions, signal: AbortSignal): Promise<Hops> {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const doFetch = options.fetch ?? globalFetch;
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
    return { ok: true, url, res };
  }
}

/** The declared body length when it is a plain number, else null. */
function declaredLength(res: Response): number | null {
  const declared = res.headers.get("content-length");
  return declared !== null && /^\d+$/.test(declared.trim()) ? Number(declared) : null;
}

const networkFailure = () => refuse("network", "The URL's server could not be reached or closed the connection; check that it is online and public.");

export async function guardedFetch(input: string, options: GuardedFetchOptions): Promise<GuardedFetchResult> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const timedOut = () =>
    refuse("timeout", `The URL did not deliver a complete response within ${options.timeoutMs / 1000} seconds; use a faster host or a smaller file.`);

  try {
    const hops = await followHops(input, options, signal);
    if (!hops.ok) return hops;
    const { url, res } = hops;
    const declared = declaredLength(res);
    if (declared !== null && declared > options.maxBytes) {
      await discard(res);
      return refuse("too-large", `The file is ${mib(declared)}, more than the ${mib(options.maxBytes)} limit; send a smaller file.`);
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
  } catch {
    // Everything that throws in here is fetch or the body stream failing (or an abort). The
    // caller's own cancellation is not the user's fault: let it propagate as thrown.
    if (options.signal?.aborted) throw options.signal.reason;
    if (deadline.aborted) return timedOut();
    return networkFailure();
  }
}

/**
 * Like `guardedFetch`, but the final response's body is returned unread. The headers deadline is
 * lifted once they are in (a timer, not `AbortSignal.timeout`, so it cannot cut the body); the
 * caller's `signal` keeps covering the body, and counting it is the caller's job.
 */
export async function guardedFetchStream(input: string, options: GuardedStreamOptions): Promise<GuardedStreamResult> {
  const headers = new AbortController();
  const timer = setTimeout(() => headers.abort(new DOMException("headers deadline", "TimeoutError")), options.headersTimeoutMs);
  const signal = options.signal ? AbortSignal.any([headers.signal, options.signal]) : headers.signal;
  try {
    const hops = await followHops(input, options, signal);
    if (!hops.ok) return hops;
    const { url, res } = hops;
    const declared = declaredLength(res);
    if (options.maxBytes !== undefined && declared !== null && declared > options.maxBytes) {
      await discard(res);
      return refuse("too-large", `The file is ${mib(declared)}, more than the ${mib(options.maxBytes)} limit.`);
    }
    if (!res.body) return refuse("network", "The URL answered without a body; check that it serves the file.");
    return { ok: true, url: url.href, status: res.status, headers: res.headers, body: res.body, contentLength: declared };
  } catch {
    if (options.signal?.aborted) throw options.signal.reason;
    if (headers.signal.aborted) {
      return refuse("timeout", `The URL did not answer within ${options.headersTimeoutMs / 1000} seconds; check that its server is up.`);
    }
    return networkFailure();
  } finally {
    clearTimeout(timer);
  }
}
