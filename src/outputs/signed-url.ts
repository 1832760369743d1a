/**
 * Short-lived signed URLs for job outputs, so a page can embed an image without an API key:
 * `…/outputs/{name}?expires=<unix s>&signature=<base64url HMAC-SHA256(job id, name, expires)>`.
 * The key is derived (HKDF) from DATA_ENCRYPTION_KEY for this one purpose.
 */
import { fromBase64, toBase64Url, utf8 } from "../protocol/encoding.ts";

type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const keys = new Map<string, Promise<Key>>();

function urlKey(masterB64: string): Promise<Key> {
  let key = keys.get(masterB64);
  if (!key) {
    key = (async () => {
      const master = await crypto.subtle.importKey("raw", fromBase64(masterB64), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8("comfyui-saas output url v1") },
        master,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign", "verify"],
      );
    })();
    keys.set(masterB64, key);
  }
  return key;
}

const message = (jobId: string, name: string, expires: number) => utf8(`${jobId}\n${name}\n${expires}`);

export function outputPath(jobId: string, name: string): string {
  return `/v1/jobs/${encodeURIComponent(jobId)}/outputs/${encodeURIComponent(name)}`;
}

export async function signedOutputUrl(baseUrl: string, jobId: string, name: string, ttlSeconds: number, masterB64: string, now = Date.now()): Promise<string> {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await urlKey(masterB64), message(jobId, name, expires)));
  return `${baseUrl}${outputPath(jobId, name)}?expires=${expires}&signature=${toBase64Url(sig)}`;
}

/**
 * A job's latest sampler preview (`GET /v1/jobs/{id}/preview`): signed like an output under the
 * name `:preview`, which no output can have (names start with a letter or digit).
 */
export const PREVIEW_NAME = ":preview";

export function previewPath(jobId: string): string {
  return `/v1/jobs/${encodeURIComponent(jobId)}/preview`;
}

export async function signedPreviewUrl(baseUrl: string, jobId: string, ttlSeconds: number, masterB64: string, now = Date.now()): Promise<string> {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await urlKey(masterB64), message(jobId, PREVIEW_NAME, expires)));
  return `${baseUrl}${previewPath(jobId)}?expires=${expires}&signature=${toBase64Url(sig)}`;
}

export async function verifyOutputSignature(
  jobId: string,
  name: string,
  expires: string,
  signature: string,
  masterB64: string,
  now = Date.now(),
): Promise<boolean> {
  if (!/^\d{1,12}$/.test(expires) || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return false;
  if (Number(expires) * 1000 < now) return false;
  let sig: Uint8Array<ArrayBuffer>;
  try {
    sig = fromBase64(signature.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return false;
  }
  return crypto.subtle.verify("HMAC", await urlKey(masterB64), sig, message(jobId, name, Number(expires)));
}
