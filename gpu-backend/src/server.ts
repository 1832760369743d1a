/**
 * The host API the edge calls, plus `/health` and `/metrics`:
 *   POST /v1/jobs                 DispatchRequest → 202 DispatchReply
 *   POST /v1/jobs/{job_id}/cancel CancelRequest   → 202 {accepted: true}
 *   GET  /health                  200 when jobs can be taken, else 503 (both with the reasons)
 *   GET  /metrics                 Prometheus text
 * Every /v1 request is checked against the pinned JWKS and this host's id, over the exact
 * method, path and body bytes, in two steps: the token (signature, host, method, path, expiry)
 * from the headers alone, before the body is read — an unsigned request is answered while the
 * client is still sending, at most 64 KiB of its body is discarded, and its connection is closed
 * (it can never make the host buffer megabytes) — then, with the body read up to
 * MAX_DISPATCH_BYTES, its hash and the replay guard (claimed only by the exact signed body: see
 * `verifyEdgeBody`). The order is fixed:
 * token (401) → size (413) → body hash / replay (401) → JSON (400) → nesting depth (422) →
 * schema (422) → deadline above MAX_JOB_DEADLINE_MS (422) → host state (409/503).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { JSONWebKeySet } from "jose";
import type { z } from "zod";
import { type EdgeFailure, verifyEdgeBody, verifyEdgeToken } from "../../src/protocol/edge-signing.ts";
import { CancelRequest, DispatchRequest } from "../../src/protocol/messages.ts";
import { MAX_JSON_DEPTH, valueTooDeep } from "../../src/protocol/node-policy.ts";
import { hostPaths } from "../../src/protocol/paths.ts";
import { MemoryReplayGuard } from "../../src/protocol/replay-guard.ts";
import type { JobManager } from "./jobs/manager.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { sendJson, sendProblem } from "./problems.ts";

export interface ServerDeps {
  hostId: string;
  /** The edge keys pinned now (they change when the edge rolls its key over: edge/pinned-keys.ts). */
  jwks: () => JSONWebKeySet;
  maxBodyBytes: number;
  /** Longest `deadline_ms` a dispatch may ask for. */
  maxJobDeadlineMs: number;
  manager: JobManager;
  metrics: Metrics;
  log: Logger;
  health: () => { ok: boolean; body: Record<string, unknown> };
}

const CANCEL_PATH = /^\/v1\/jobs\/([^/]+)\/cancel$/;

export function createHostServer(deps: ServerDeps): Server {
  const replay = new MemoryReplayGuard();
  const server = createServer((req, res) => {
    handle(req, res, deps, replay).catch((err: unknown) => {
      deps.log.error("request_failed", { error: err as Error, stack: (err as Error).stack });
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000; // longer than a tunnel's idle timeout, so it never races a reuse
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: ServerDeps, replay: MemoryReplayGuard): Promise<void> {
  const receivedAt = performance.now();
  const rawPath = req.url ?? "/";
  const pathname = rawPath.split("?")[0]!;
  const method = req.method ?? "GET";

  if (pathname === "/health") {
    if (method !== "GET") return sendProblem(res, "method-not-allowed", "use GET", {}, { Allow: "GET" });
    const health = deps.health();
    return sendJson(res, health.ok ? 200 : 503, health.body);
  }
  if (pathname === "/metrics") {
    if (method !== "GET") return sendProblem(res, "method-not-allowed", "use GET", {}, { Allow: "GET" });
    const text = await deps.metrics.registry.metrics();
    res.writeHead(200, { "Content-Type": deps.metrics.registry.contentType });
    return void res.end(text);
  }

  const cancelMatch = CANCEL_PATH.exec(pathname);
  const route = pathname === hostPaths.dispatch ? "dispatch" : cancelMatch ? "cancel" : undefined;
  if (!route) return sendProblem(res, "not-found", `no route ${pathname}`);
  if (method !== "POST") return sendProblem(res, "method-not-allowed", "use POST", {}, { Allow: "POST" });

  const refuse = (reason: EdgeFailure) => {
    deps.metrics.authRejected.inc({ reason });
    deps.log.warn("auth_failed", { reason, path: pathname });
    return sendProblem(
      res,
      "unauthenticated",
      "a valid edge signature for this request is required",
      {},
      { "WWW-Authenticate": 'Bearer error="invalid_token"' },
    );
  };
  const token = await verifyEdgeToken(deps.jwks(), req.headers.authorization, { hostId: deps.hostId, method, path: rawPath });
  if (!token.ok) {
    lingerThenClose(req);
    return refuse(token.reason);
  }

  const body = await readBody(req, deps.maxBodyBytes);
  if (body === undefined) {
    lingerThenClose(req);
    return sendProblem(res, "payload-too-large", `the body is larger than ${deps.maxBodyBytes} bytes`);
  }
  const verdict = await verifyEdgeBody(token.token, body, replay);
  if (!verdict.ok) return refuse(verdict.reason);

  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return sendProblem(res, "malformed-json", "the body is not valid JSON");
  }
  // Before anything recursive (zod, structuredClone, JSON.stringify) walks it: a workflow nested
  // thousands deep would overflow the stack in every attempt.
  if (valueTooDeep(json)) {
    const pointer = typeof json === "object" && json !== null && valueTooDeep((json as { workflow?: unknown }).workflow, MAX_JSON_DEPTH - 1) ? "/workflow" : "";
    return sendProblem(res, "validation-failed", `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`, {
      errors: [{ pointer, detail: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
    });
  }

  if (route === "dispatch") {
    const parsed = parse(DispatchRequest, json);
    if (!parsed.ok) return sendProblem(res, "validation-failed", "the body is not a DispatchRequest", { errors: parsed.errors });
    if (parsed.value.deadline_ms > deps.maxJobDeadlineMs) {
      return sendProblem(res, "validation-failed", `deadline_ms ${parsed.value.deadline_ms} is longer than this host allows`, {
        errors: [{ pointer: "/deadline_ms", detail: `must be at most ${deps.maxJobDeadlineMs} (MAX_JOB_DEADLINE_MS) on this host` }],
      });
    }
    const decision = deps.manager.dispatch(parsed.value, receivedAt);
    deps.metrics.dispatches.inc({ result: decision.kind });
    deps.log.info("dispatch", { job_id: parsed.value.job_id, attempt: parsed.value.attempt, result: decision.kind });
    switch (decision.kind) {
      case "accepted":
      case "duplicate":
      case "replaced":
        return sendJson(res, 202, { accepted: true, held: decision.held });
      case "full":
        return sendProblem(res, "host-full", `all ${deps.manager.view().capacity} slots are held`, { held: decision.held });
      case "stale":
        return sendProblem(res, "stale-dispatch", decision.detail);
      case "draining":
        return sendProblem(res, "host-draining", "the host is draining and takes no new jobs", {}, { "Retry-After": "30" });
      case "comfy_down":
        return sendProblem(res, "comfy-unavailable", `ComfyUI is ${decision.state}`, { comfy: decision.state }, { "Retry-After": "5" });
    }
  }

  const parsed = parse(CancelRequest, json);
  if (!parsed.ok) return sendProblem(res, "validation-failed", "the body is not a CancelRequest", { errors: parsed.errors });
  const pathJobId = decodeURIComponent(cancelMatch![1]!);
  if (parsed.value.job_id !== pathJobId) {
    return sendProblem(res, "validation-failed", "job_id in the body differs from the path", {
      errors: [{ pointer: "/job_id", detail: "must equal the job id in the path" }],
    });
  }
  const result = deps.manager.cancel(parsed.value);
  deps.log.info("cancel", { job_id: parsed.value.job_id, attempt: parsed.value.attempt, reason: parsed.value.reason, result });
  if (result === "unknown") return sendProblem(res, "unknown-job", "this host does not hold that job attempt and lease");
  return sendJson(res, 202, { accepted: true });
}

function parse<S extends z.ZodType>(
  schema: S,
  json: unknown,
): { ok: true; value: z.output<S> } | { ok: false; errors: Array<{ pointer: string; detail: string }> } {
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, errors: result.error.issues.slice(0, 20).map((i) => ({ pointer: `/${i.path.map(String).join("/")}`, detail: i.message })) };
}

/**
 * The whole body, or undefined as soon as it is known to pass `max` (declared or counted); then
 * reading stops (the caller answers 413 and `lingerThenClose`s).
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? NaN);
    if (Number.isFinite(declared) && declared > max) return resolve(undefined);
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= max) return void chunks.push(chunk);
      req.off("data", onData);
      req.pause();
      resolve(undefined);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** What is discarded of a refused request's unread body before its connection is closed. */
const LINGER_BYTES = 64 * 1024;
const LINGER_MS = 5_000;

/**
 * For a request answered without reading its body: discard at most LINGER_BYTES of it (within
 * LINGER_MS), then close the connection. A client that sent a small body reads the answer and
 * keeps its connection; one sending more is cut off instead of being read to the end (closing at
 * once, with its bytes still arriving, could reset the connection before it read the answer).
 */
function lingerThenClose(req: IncomingMessage): void {
  let seen = 0;
  const close = () => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > LINGER_BYTES) close();
  });
  req.on("end", () => clearTimeout(timer));
  req.resume();
}
