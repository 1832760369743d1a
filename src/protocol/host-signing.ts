/**
 * Host → edge request signing: Standard Webhooks over a JSON payload that names the host and, for
 * job messages, the job, attempt and lease. POST bodies are that JSON; GET and PUT requests carry it
 * in `x-request-manifest` (the edge checks it names the request's own method and path, and for an
 * upload the size and SHA-256 the streamed body must have).
 */
import { HostManifest, RequestManifest } from "./messages.ts";
import { signWebhook, verifyWebhook, type WebhookHeaders, type WebhookVerdict } from "./standard-webhooks.ts";

export const MANIFEST_HEADER = "x-request-manifest";
export const HOST_ID_HEADER = "x-host-id";
/** Host clocks are NTP-synced; a minute either way is generous and keeps the replay window short. */
export const HOST_SIGNATURE_TOLERANCE_SECONDS = 60;

export async function signHostPayload(secrets: readonly string[], payload: string): Promise<WebhookHeaders> {
  return signWebhook(secrets, payload);
}

export async function signHostManifest(secrets: readonly string[], manifest: RequestManifest | HostManifest): Promise<Record<string, string>> {
  const payload = JSON.stringify("job_id" in manifest ? RequestManifest.parse(manifest) : HostManifest.parse(manifest));
  return { ...(await signWebhook(secrets, payload)), [MANIFEST_HEADER]: payload };
}

export function verifyHostPayload(secrets: readonly string[], headers: Headers, payload: string, now?: number): Promise<WebhookVerdict> {
  return verifyWebhook(secrets, headers, payload, { toleranceSeconds: HOST_SIGNATURE_TOLERANCE_SECONDS, ...(now !== undefined ? { now } : {}) });
}
