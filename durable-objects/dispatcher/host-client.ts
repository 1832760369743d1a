/**
 * Calls a GPU host's API (dispatch, cancel) with a request signed by the edge's Ed25519 key
 * (src/protocol/edge-signing.ts). Outcomes are a tagged union: the dispatcher treats "refused"
 * (full, draining, ComfyUI down) and "unreachable" as "try elsewhere", "rejected" as a bug.
 */

import { errorText } from "../../src/lib/log.ts";
import { type EdgeSigningKey, signEdgeRequest } from "../../src/protocol/edge-signing.ts";

export type HostCall =
  | { ok: true; status: number; body: unknown }
  | { ok: false; kind: "refused" | "rejected" | "unreachable"; status?: number; detail: string };

const TIMEOUT_MS = 10_000;
/** Dispatch and cancel replies are a few hundred bytes; anything longer is cut here. */
export const MAX_REPLY_BYTES = 16 * 1024;

export async function readText(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
  }
  await reader.cancel().catch(() => {});
  const all = new Uint8Array(Math.min(total, max));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, all.length - at);
    all.set(part, at);
    at += part.length;
    if (at >= all.length) break;
  }
  return new TextDecoder().decode(all);
}

export async function callHost(key: EdgeSigningKey, host: { id: string; url: string }, method: "POST", path: string, payload: unknown): Promise<HostCall> {
  const body = JSON.stringify(payload);
  const token = await signEdgeRequest(key, { hostId: host.id, method, path, body });
  let res: Response;
  try {
    // Host URLs may carry a base path (behind a tunnel or proxy): append, do not resolve.
    res = await fetch(`${host.url.replace(/\/+$/, "")}${path}`, {
      method,
      body,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    return { ok: false, kind: "unreachable", detail: errorText(err) };
  }
  // A host's reply is read only up to a small cap: it is the least trusted tier.
  const text = await readText(res, MAX_REPLY_BYTES);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, body: parsed };
  const detail = typeof parsed === "object" && parsed !== null && "detail" in parsed ? String((parsed as { detail: unknown }).detail) : text.slice(0, 300);
  if (res.status === 409 || res.status === 503 || res.status === 429) return { ok: false, kind: "refused", status: res.status, detail };
  if (res.status >= 500) return { ok: false, kind: "unreachable", status: res.status, detail };
  return { ok: false, kind: "rejected", status: res.status, detail };
}
