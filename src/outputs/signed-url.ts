/**
 * Short-lived signed URLs for job outputs, so a page can embed an image without an API key:
 * `…/outputs/{name}?expires=<unix s>&signature=<key id>.<base64url HMAC-SHA256(job id, name, expires)>`.
 * Keys are OUTPUT_URL_KEYS (src/lib/key-list.ts), their own secret rather than one derived from the
 * data encryption key, so each rotates on its own schedule: the newest key signs, every listed key
 * verifies, and a link names its key, so links minted before a rotation keep working until they
 * expire as long as their key stays listed (docs/key-rotation.md). Each HMAC key is derived (HKDF)
 * from the listed key for this one purpose.
 */
import type { ListedKey } from "../lib/key-list.ts";
import { fromBase64, toBase64Url, utf8 } from "../protocol/encoding.ts";

type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const hmacKeys = new Map<string, Promise<Key>>();

function urlKey(masterB64: string): Promise<Key> {
  let key = hmacKeys.get(masterB64);
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
    hmacKeys.set(masterB64, key);
  }
  return key;
}

const message = (jobId: string, name: string, expires: number) => utf8(`${jobId}\n${name}\n${expires}`);

export function outputPath(jobId: string, name: string): string {
  return `/v1/jobs/${encodeURIComponent(jobId)}/outputs/${encodeURIComponent(name)}`;
}

/** `<key id>.<mac>` under the newest key. */
async function sign(keys: readonly ListedKey[], jobId: string, name: string, expires: number): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error("no output URL key");
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await urlKey(key.secret), message(jobId, name, expires)));
  return `${key.kid}.${toBase64Url(sig)}`;
}

export async function signedOutputUrl(
  baseUrl: string,
  jobId: string,
  name: string,
  ttlSeconds: number,
  keys: readonly ListedKey[],
  now = Date.now(),
): Promise<string> {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  return `${baseUrl}${outputPath(jobId, name)}?expires=${expires}&signature=${await sign(keys, jobId, name, expires)}`;
}

/**
 * A job's latest sampler preview (`GET /v1/jobs/{id}/preview`): signed like an output under the
 * name `:preview`, which no output can have (names start with a letter or digit).
 */
export const PREVIEW_NAME = ":preview";

export function previewPath(jobId: string): string {
  return `/v1/jobs/${encodeURIComponent(jobId)}/preview`;
}

export async function signedPreviewUrl(baseUrl: string, jobId: string, ttlSeconds: number, keys: readonly ListedKey[], now = Date.now()): Promise<string> {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  return `${baseUrl}${previewPath(jobId)}?expires=${expires}&signature=${await sign(keys, jobId, PREVIEW_NAME, expires)}`;
}

/** Longest `signature` parameter: a 32-character key id, the dot and 43 characters of MAC. */
export const MAX_SIGNATURE_CHARS = 76;

export async function verifyOutputSignature(
  jobId: string,
  name: string,
  expires: string,
  signature: string,
  keys: readonly ListedKey[],
  now = Date.now(),
): Promise<boolean> {
  const m = /^([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/.exec(signature);
  if (!/^\d{1,12}$/.test(expires) || !m) return false;
  if (Number(expires) * 1000 < now) return false;
  // The key the link names, if it is still listed; a removed key's links stop working.
  const key = keys.find((k) => k.kid === m[1]);
  if (!key) return false;
  let sig: Uint8Array<ArrayBuffer>;
  try {
    sig = fromBase64(m[2]!.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return false;
  }
  return crypto.subtle.verify("HMAC", await urlKey(key.secret), sig, message(jobId, name, Number(expires)));
}
