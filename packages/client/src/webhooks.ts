/**
 * Verifying a webhook this API sent (Standard Webhooks, https://www.standardwebhooks.com): the raw
 * body as received, the request's headers and the tenant's signing secret (`whsec_…`). Returns the
 * parsed payload, or throws when the signature, or the timestamp (±5 minutes), does not check out.
 */
import { Webhook } from "standardwebhooks";

export function verifyWebhook(rawBody: string, headers: Headers | Record<string, string>, secret: string): unknown {
  const h =
    headers instanceof Headers ? Object.fromEntries(headers.entries()) : Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return new Webhook(secret).verify(rawBody, h);
}
