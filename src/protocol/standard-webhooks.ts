/**
 * Standard Webhooks v1 (symmetric): `webhook-id`, `webhook-timestamp` (seconds) and
 * `webhook-signature` (space-separated `v1,<base64 HMAC-SHA256>`), over `id.timestamp.payload`.
 *
 * Used for host → edge requests and for the webhooks we send to customers. Verification uses
 * `crypto.subtle.verify` (constant time), accepts the message if any listed signature matches any
 * of our secrets (rotation), ignores unknown versions, and checks the timestamp both ways.
 */
import { fromBase64, toBase64, utf8 } from "./encoding.ts";

export const SECRET_PREFIX = "whsec_";
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookHeaders = {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
};

/** WebCrypto key type, spelled so it resolves under both workerd's and Node's type definitions. */
type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export type WebhookVerdict =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; reason: "missing_headers" | "bad_timestamp" | "too_old" | "too_new" | "bad_secret" | "no_matching_signature" };

/** `whsec_<base64>` → key bytes. Throws on an empty or malformed secret. */
export function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (body === "") throw new TypeError("empty webhook secret");
  const bytes = fromBase64(body);
  if (bytes.length === 0) throw new TypeError("empty webhook secret");
  return bytes;
}

export function newSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** Imported keys by usage and secret: an import costs as much as the HMAC itself, and every host request and webhook pays for one. */
const hmacKeys = new Map<string, Promise<Key>>();
/** Enough for every secret in use at once (a host's one or two, an edge's hosts and tenants' webhooks), small enough to never matter. */
const MAX_CACHED_KEYS = 512;

function hmacKey(secret: string, usage: "sign" | "verify"): Promise<Key> {
  const cacheKey = `${usage}:${secret}`;
  const cached = hmacKeys.get(cacheKey);
  if (cached) return cached;
  // secretBytes throws on a malformed secret: before anything is cached.
  const key = crypto.subtle.importKey("raw", secretBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
  if (hmacKeys.size >= MAX_CACHED_KEYS) hmacKeys.delete(hmacKeys.keys().next().value!);
  hmacKeys.set(cacheKey, key);
  key.catch(() => hmacKeys.delete(cacheKey));
  return key;
}

function signedContent(id: string, timestamp: number, payload: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const head = utf8(`${id}.${timestamp}.`);
  const body = typeof payload === "string" ? utf8(payload) : payload;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** `v1,<sig>` for each secret, space-separated (several during a rotation). */
export async function signatureHeader(secrets: readonly string[], id: string, timestamp: number, payload: string | Uint8Array): Promise<string> {
  if (id.includes(".") || /\s/.test(id)) throw new TypeError("webhook id must not contain '.' or whitespace");
  const content = signedContent(id, timestamp, payload);
  const sigs = await Promise.all(
    secrets.map(async (s) => `v1,${toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(s, "sign"), content)))}`),
  );
  return sigs.join(" ");
}

export async function signWebhook(secrets: readonly string[], payload: string | Uint8Array, opts: { id?: string; now?: number } = {}): Promise<WebhookHeaders> {
  const id = opts.id ?? `msg_${crypto.randomUUID().replaceAll("-", "")}`;
  const timestamp = Math.floor((opts.now ?? Date.now()) / 1000);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": await signatureHeader(secrets, id, timestamp, payload) };
}

type HeaderSource = Headers | Record<string, string | undefined>;
const read = (h: HeaderSource, name: string) => (h instanceof Headers ? (h.get(name) ?? undefined) : h[name]);

export async function verifyWebhook(
  secrets: readonly string[],
  headers: HeaderSource,
  payload: string | Uint8Array,
  opts: { toleranceSeconds?: number; now?: number } = {},
): Promise<WebhookVerdict> {
  const id = read(headers, "webhook-id");
  const ts = read(headers, "webhook-timestamp");
  const sig = read(headers, "webhook-signature");
  if (!id || !ts || !sig) return { ok: false, reason: "missing_headers" };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: "bad_timestamp" };
  const timestamp = Number(ts);
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (timestamp < now - tolerance) return { ok: false, reason: "too_old" };
  if (timestamp > now + tolerance) return { ok: false, reason: "too_new" };

  const provided: Uint8Array<ArrayBuffer>[] = [];
  for (const part of sig.split(" ")) {
    const [version, value] = part.split(",", 2);
    if (version !== "v1" || !value) continue;
    try {
      provided.push(fromBase64(value));
    } catch {
      // not base64: cannot match
    }
  }
  const content = signedContent(id, timestamp, payload);
  for (const secret of secrets) {
    let key: Key;
    try {
      key = await hmacKey(secret, "verify");
    } catch {
      return { ok: false, reason: "bad_secret" };
    }
    for (const candidate of provided) {
      if (await crypto.subtle.verify("HMAC", key, candidate, content)) return { ok: true, id, timestamp };
    }
  }
  return { ok: false, reason: "no_matching_signature" };
}
