/**
 * The SSRF guard's public surface. Routes use `fetchImage` / `decodeImageDataUri` for image inputs
 * and `checkWebhookUrl` for webhook URLs; the rest is exported for tests and for other outbound
 * fetches of user-controlled URLs. docs/ssrf.md describes the policy.
 */
export { type CheckUrlOptions, checkUrl, type UrlVerdict } from "./check-url.ts";
export { DEFAULT_DOH_ENDPOINT, DnsError, type DohOptions, dohResolver, type Resolver } from "./dns.ts";
export type { FetchFn } from "./fetch-fn.ts";
export {
  DEFAULT_MAX_REDIRECTS,
  type GuardedFetchOptions,
  type GuardedFetchResult,
  type GuardedStreamOptions,
  type GuardedStreamResult,
  guardedFetch,
  guardedFetchStream,
  type HopOptions,
} from "./guarded-fetch.ts";
export {
  type CheckedImage,
  decodeImageDataUri,
  type FetchImageOptions,
  fetchImage,
  type ImageLimits,
  type ImageResult,
  vetImage,
} from "./image-input.ts";
export { type IpAddress, parseIp } from "./ip.ts";
export { type AddressVerdict, classifyAddressText, classifyIp } from "./ip-ranges.ts";
export { REFUSAL_REASONS, type Refusal, type RefusalReason } from "./refusal.ts";
export { checkUrlPolicy, DEFAULT_PORTS, DEFAULT_SCHEMES, type UrlPolicy } from "./url-policy.ts";
export { checkWebhookUrl, WEBHOOK_SCHEMES, type WebhookCheckOptions, type WebhookVerdict } from "./webhook-url.ts";
