/**
 * The plumbing every client of this package shares: openapi-fetch on the generated `paths`, behind
 * the retry policy of retry.ts, and `ok()`, which turns an answer into its data or the ApiError of
 * its problem document. One place, so the tenant client and the admin client retry and fail alike.
 */
import createClient from "openapi-fetch";
import { ApiError, asProblem } from "./errors.ts";
import { DEFAULT_RETRY, type RetryPolicy, retryingFetch } from "./retry.ts";
import type { paths } from "./schema.ts";

export type Api = ReturnType<typeof createClient<paths>>;

export interface Transport {
  /** The origin without a trailing slash. */
  baseUrl: string;
  api: Api;
  /** The retrying fetch, for the calls openapi-fetch does not make (streams, uploads, downloads). */
  fetcher: (request: Request) => Promise<Response>;
}

export function createTransport(opts: {
  baseUrl: string;
  headers: Record<string, string>;
  fetch?: typeof fetch | undefined;
  retry?: Partial<RetryPolicy> | undefined;
}): Transport {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const base = opts.fetch ?? ((request: Request) => globalThis.fetch(request));
  const fetcher = retryingFetch(base, { ...DEFAULT_RETRY, ...opts.retry });
  return { baseUrl, fetcher, api: createClient<paths>({ baseUrl, headers: opts.headers, fetch: fetcher }) };
}

/** The data of a successful answer; otherwise the ApiError of its problem document (openapi-fetch parsed it). */
export function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.response.ok && r.data !== undefined) return r.data;
  throw new ApiError(asProblem(r.error, r.response));
}
