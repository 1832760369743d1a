/**
 * The problem types (RFC 9457) the host API answers with. The edge switches on `type`; the wire
 * `detail` stays generic for authentication failures (the precise reason goes to the log only).
 */
import type { ServerResponse } from "node:http";

export const PROBLEM_BASE = "https://comfyui-saas.dev/problems/";

export const hostProblems = {
  unauthenticated: { status: 401, title: "Authentication required", doc: "Missing, malformed, expired, replayed or mis-addressed edge signature." },
  "malformed-json": { status: 400, title: "Malformed JSON", doc: "The body is not valid JSON." },
  "validation-failed": { status: 422, title: "Validation failed", doc: "The body breaks the message schema; `errors[]` says where." },
  "payload-too-large": { status: 413, title: "Payload too large", doc: "The body is larger than MAX_DISPATCH_BYTES." },
  "not-found": { status: 404, title: "Not found", doc: "No such route." },
  "method-not-allowed": { status: 405, title: "Method not allowed", doc: "The route exists with other methods (`Allow`)." },
  "unknown-job": { status: 404, title: "Unknown job", doc: "Cancel for a job (attempt, lease) this host does not hold: finished already, or never here." },
  "host-full": { status: 409, title: "Host full", doc: "Every slot (SLOTS + PREFETCH) is held; dispatch elsewhere or later." },
  "stale-dispatch": { status: 409, title: "Stale dispatch", doc: "The host has seen a newer (or the same) attempt of this job with another lease." },
  "host-draining": { status: 503, title: "Host draining", doc: "The host is shutting down and takes no new jobs." },
  "comfy-unavailable": { status: 503, title: "ComfyUI unavailable", doc: "ComfyUI is starting or down; retry on another host or later." },
} as const;

export type HostProblem = keyof typeof hostProblems;

export function sendProblem(
  res: ServerResponse,
  slug: HostProblem,
  detail: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  const kind = hostProblems[slug];
  const body = JSON.stringify({ ...extensions, type: `${PROBLEM_BASE}${slug}`, title: kind.title, status: kind.status, detail });
  res.writeHead(kind.status, { ...headers, "Content-Type": "application/problem+json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
