/**
 * The SSRF guard's public surface. Routes use `fetchImage` / `decodeImageDataUri` for image inputs
 * and `checkWebhookUrl` for webhook URLs; the rest is exported for tests and for other outbound
 * fetches of user-controlled URLs. docs/ssrf.md describes the policy.
 */
export { checkUrl, type CheckUrlOptions, type UrlVerdict } from "./check-url.ts";
export { DEFAULT_DOH_ENDPOINT, dohResolver, DnsError, type DohOptions, type Resolver } from "./dns.ts";
export type { FetchFn } from "./fetch-fn.ts";
export { DEFAULT_MAX_REDIRECTS, guardedFetch, type GuardedFetchOptions, type GuardedFetchResult } from "./guarded-fetch.ts";
export {
  decodeImageDataUri,
  fetchImage,
  vetImage,
  type CheckedImage,
  type FetchImageOptions,
  type ImageLimits,
  type ImageResult,
} from "./image-input.ts";
export { classifyAddressText, classifyIp, type AddressVerdict } from "./ip-ranges.ts";
export { parseIp, type IpAddress } from "./ip.ts";
export { REFUSAL_REASONS, type Refusal, type RefusalReason } from "./refusal.ts";
export { checkUrlPolicy, DEFAULT_PORTS, DEFAULT_SCHEMES, type UrlPolicy } from "./url-policy.ts";
export { checkWebhookUrl, WEBHOOK_SCHEMES, type WebhookCheckOptions, type WebhookVerdict } from "./webhook-url.ts";
