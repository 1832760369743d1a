/**
 * Why an outbound URL or a user-supplied image was refused: a closed set of reasons, each with one
 * sentence (`detail`) the user can act on. Routes put `reason` and `detail` verbatim into a 422
 * `unsafe-source-url` problem, so a detail never carries internal state (no stack traces, no
 * runtime error text), only facts about the user's own URL or bytes.
 *
 * Invariant: every refusal any function in src/ssrf or src/media returns uses one of these reasons;
 * callers switch on `reason` exhaustively.
 */
import { MEDIA_REFUSAL_REASONS, type MediaRefusalReason } from "../media/check.ts";

export const URL_REFUSAL_REASONS = [
  "invalid-url", // not an absolute URL the WHATWG parser accepts, or too long
  "scheme", // not in the scheme allow-list (https/http)
  "userinfo", // user name or password in the URL
  "port", // port not in the port allow-list
  "host", // host name not allowed (localhost, *.internal, single label, malformed …)
  "private-address", // an IP literal, or any DNS answer, outside public unicast
  "dns", // the name did not resolve, or the resolver failed (fail closed)
] as const;

export const FETCH_REFUSAL_REASONS = [
  "redirect", // bad or missing Location, https→http downgrade
  "redirect-limit", // more redirects than allowed
  "timeout", // total deadline passed (DNS, connect, headers or body)
  "network", // could not connect or the connection broke
  "http-status", // a final status other than 200/203
  "too-large", // Content-Length or counted (decoded) body bytes over the cap
] as const;

export type UrlRefusalReason = (typeof URL_REFUSAL_REASONS)[number];
export type FetchRefusalReason = (typeof FETCH_REFUSAL_REASONS)[number];
export type RefusalReason = UrlRefusalReason | FetchRefusalReason | MediaRefusalReason;

export interface Refusal<R extends RefusalReason = RefusalReason> {
  ok: false;
  reason: R;
  /** One sentence for the user (a problem's `detail`). */
  detail: string;
}

export function refuse<R extends RefusalReason>(reason: R, detail: string): Refusal<R> {
  return { ok: false, reason, detail };
}

/** Every reason, for an OpenAPI enum or a docs table. */
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  ...new Set<RefusalReason>([...URL_REFUSAL_REASONS, ...FETCH_REFUSAL_REASONS, ...MEDIA_REFUSAL_REASONS]),
];
