/**
 * A fake edge for tests and the benchmark: a real HTTP server on 127.0.0.1 that checks every host
 * request with `src/protocol` (Standard Webhooks signature, manifest naming the request's own
 * method and path, lease fencing, body size and SHA-256), serves inputs, stores outputs, records
 * preview frames (answered 204, like the edge), events and heartbeats, and sends dispatches and
 * cancels signed with `signEdgeRequest`.
 *
 * It behaves like the real edge on the points the host relies on: an event for an attempt/lease
 * that is not current gets 409; an event not newer (by seq) than the last applied is answered
 * 200 `{applied: false}`. Faults (5xx, lost replies) can be injected per route.
 */

import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JSONWebKeySet } from "jose";
import { catalogHash, HostCatalog } from "../../../src/protocol/catalog.ts";
import { type EdgeSigningKey, generateEdgeSigningKey, signEdgeRequest } from "../../../src/protocol/edge-signing.ts";
import { MANIFEST_HEADER, verifyHostPayload } from "../../../src/protocol/host-signing.ts";
import {
  type CancelRequest,
  DispatchRequest,
  Heartbeat,
  type HeartbeatReply,
  type InputRef,
  JobEvent,
  PREVIEW_CONTENT_TYPES,
  RequestManifest,
} from "../../../src/protocol/messages.ts";
import { hostPaths } from "../../../src/protocol/paths.ts";
import { newSecret } from "../../../src/protocol/standard-webhooks.ts";
import { waitUntil } from "./wait-until.ts";

export interface RecordedEvent {
  event: JobEvent;
  applied: boolean;
  status: number;
}

export interface StoredOutput {
  bytes: Buffer;
  contentType: string;
  manifest: RequestManifest;
}

export interface StoredPreview {
  jobId: string;
  bytes: Buffer;
  contentType: string;
  manifest: RequestManifest;
}

type Route = "heartbeat" | "events" | "input" | "output" | "preview" | "catalog";

interface Fault {
  route: Route;
  status: number;
  remaining: number;
  /** Process the request normally, then answer with the fault status (a lost reply). */
  afterApply: boolean;
  when?: (body: unknown) => boolean;
}

export class FakeEdge {
  readonly hostId: string;
  readonly secret: string;
  readonly key: EdgeSigningKey;
  readonly jwks: JSONWebKeySet;
  url = "";
  readonly events: RecordedEvent[] = [];
  /** The same events by job: waiters probe on every arrival, and a benchmark sends thousands. */
  private readonly eventsByJob = new Map<string, RecordedEvent[]>();
  readonly heartbeats: Heartbeat[] = [];
  /** Catalogs accepted (signed, valid, hash matching the content), in order. */
  readonly catalogs: HostCatalog[] = [];
  /** When true, the next heartbeat reply says the edge lacks the host's catalog (then cleared). */
  wantCatalog = false;
  readonly outputs = new Map<string, Map<string, StoredOutput>>();
  readonly inputs = new Map<string, { bytes: Buffer; contentType: string }>();
  readonly inputFetches: string[] = [];
  readonly rejected: Array<{ route: string; reason: string }> = [];
  /** Order in which outputs were stored and events applied: `output <job>/<name>`, `event <job> <type>`. */
  readonly arrivals: string[] = [];
  /** The current (attempt, lease) of each job: anything else is fenced off with 409. */
  readonly leases = new Map<string, { attempt: number; lease_id: string }>();
  /** Sent in the next heartbeat reply, then cleared. */
  pendingCancel: Array<{ job_id: string; attempt: number; lease_id: string }> = [];
  pendingRevoke: Array<{ job_id: string; attempt: number; lease_id: string }> = [];
  /** An `edge_jwks` update (src/protocol/jwks-update.ts) sent in every heartbeat reply while set. */
  edgeJwksUpdate: string | undefined;
  onEvent: ((event: JobEvent) => void) | undefined;
  /** Requests received per route (faults included). */
  readonly requests: Record<Route, number> = { heartbeat: 0, events: 0, input: 0, output: 0, preview: 0, catalog: 0 };
  /** Preview frames accepted, in arrival order (each also in `arrivals` as `preview <job>`). */
  readonly previews: StoredPreview[] = [];
  /** Preview requests being handled now, and the most there ever were at once (any job). */
  previewsInFlight = 0;
  maxPreviewsInFlight = 0;
  /** Event requests received per event type (faults and retries included). */
  readonly eventRequests = new Map<string, number>();
  /** When false, heartbeat replies renew no lease (events are still accepted). */
  renewLeases = true;
  /** While set, output uploads wait for it before they are stored (see holdUploads). */
  private uploadGate: Promise<void> | undefined;
  /** While set, preview uploads wait for it before they are stored (see holdPreviews). */
  private previewGate: Promise<void> | undefined;
  private readonly lastSeq = new Map<string, number>();
  private readonly faults: Fault[] = [];
  private readonly waiters = new Set<() => void>();
  private server: Server | undefined;

  private constructor(hostId: string, secret: string, key: EdgeSigningKey, jwks: JSONWebKeySet) {
    this.hostId = hostId;
    this.secret = secret;
    this.key = key;
    this.jwks = jwks;
  }

  static async start(opts: { hostId?: string } = {}): Promise<FakeEdge> {
    const { key, jwks } = await generateEdgeSigningKey("test-edge-key");
    const edge = new FakeEdge(opts.hostId ?? "gpu-test", newSecret(), key, jwks);
    edge.server = createServer((req, res) => {
      if (req.method === "PUT" && req.url?.endsWith("/preview")) {
        edge.previewsInFlight++;
        edge.maxPreviewsInFlight = Math.max(edge.maxPreviewsInFlight, edge.previewsInFlight);
        res.once("close", () => edge.previewsInFlight--);
      }
      edge.handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => edge.server!.listen(0, "127.0.0.1", resolve));
    edge.url = `http://127.0.0.1:${(edge.server.address() as AddressInfo).port}`;
    return edge;
  }

  /** The host-side configuration this edge expects (merge into the service config). */
  hostEnv(): Record<string, string> {
    return { HOST_ID: this.hostId, EDGE_URL: this.url, HOST_SECRET: this.secret, EDGE_JWKS: JSON.stringify(this.jwks) };
  }

  async close(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((resolve) => {
      this.server!.close(() => resolve());
      this.server!.closeAllConnections();
    });
  }

  // ===== edge → host =====

  /** A dispatch for a new job (attempt 1 unless given) whose lease becomes current here. */
  newJob(workflow: Record<string, unknown>, opts: Partial<DispatchRequest> = {}): DispatchRequest {
    const req = DispatchRequest.parse({
      job_id: `job_${randomUUID().slice(0, 12)}`,
      attempt: 1,
      lease_id: `lease_${randomUUID().slice(0, 12)}`,
      tenant_id: "tenant_test",
      workflow,
      inputs: [],
      deadline_ms: 60_000,
      lease_ttl_ms: 60_000,
      ...opts,
    });
    this.leases.set(req.job_id, { attempt: req.attempt, lease_id: req.lease_id });
    return req;
  }

  /** The same job again with attempt + 1 and a new lease (the old one is fenced off). */
  nextAttempt(req: DispatchRequest): DispatchRequest {
    const next = { ...req, attempt: req.attempt + 1, lease_id: `lease_${randomUUID().slice(0, 12)}` };
    this.leases.set(next.job_id, { attempt: next.attempt, lease_id: next.lease_id });
    return next;
  }

  addInput(
    jobId: string,
    id: string,
    bytes: Buffer,
    target: { node_id: string; input_name: string },
    filename = "input.png",
    contentType = "image/png",
  ): InputRef {
    this.inputs.set(`${jobId}/${id}`, { bytes, contentType });
    return { id, node_id: target.node_id, input_name: target.input_name, filename, content_type: contentType, size: bytes.length, sha256: sha256(bytes) };
  }

  dispatch(hostUrl: string, req: DispatchRequest): Promise<HostReply> {
    return this.signedPost(hostUrl, hostPaths.dispatch, JSON.stringify(req));
  }

  /** A dispatch signed now and sent when the returned function is called (a benchmark times the sending only). */
  async signedDispatch(hostUrl: string, req: DispatchRequest): Promise<() => Promise<HostReply>> {
    const body = JSON.stringify(req);
    const token = await signEdgeRequest(this.key, { hostId: this.hostId, method: "POST", path: hostPaths.dispatch, body });
    return () => post(hostUrl, hostPaths.dispatch, body, { Authorization: `Bearer ${token}` });
  }

  cancel(hostUrl: string, req: { job_id: string; attempt: number; lease_id: string }, reason: CancelRequest["reason"] = "user"): Promise<HostReply> {
    return this.signedPost(hostUrl, hostPaths.cancel(req.job_id), JSON.stringify({ job_id: req.job_id, attempt: req.attempt, lease_id: req.lease_id, reason }));
  }

  /** POST with a signature made for (`sign` overrides) this exact request. */
  async signedPost(
    hostUrl: string,
    path: string,
    body: string,
    sign: { hostId?: string; path?: string; method?: string; body?: string; now?: number; key?: EdgeSigningKey } = {},
  ): Promise<HostReply> {
    const token = await signEdgeRequest(
      sign.key ?? this.key,
      { hostId: sign.hostId ?? this.hostId, method: sign.method ?? "POST", path: sign.path ?? path, body: sign.body ?? body },
      sign.now,
    );
    return post(hostUrl, path, body, { Authorization: `Bearer ${token}` });
  }

  /** Output uploads wait until the returned function is called: holds a job in its upload phase. */
  holdUploads(): () => void {
    let release: () => void = () => {};
    this.uploadGate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.uploadGate = undefined;
      release();
    };
  }

  /** Preview uploads wait until the returned function is called (each is held while it is in flight). */
  holdPreviews(): () => void {
    let release: () => void = () => {};
    this.previewGate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.previewGate = undefined;
      release();
    };
  }

  previewsFor(jobId: string): StoredPreview[] {
    return this.previews.filter((p) => p.jobId === jobId);
  }

  // ===== inspection =====

  /** Injects `times` answers of `status` on a route (afterApply: the request takes effect first). */
  fail(route: Route, status: number, times = 1, opts: { afterApply?: boolean; when?: (body: unknown) => boolean } = {}): void {
    this.faults.push({ route, status, remaining: times, afterApply: opts.afterApply ?? false, ...(opts.when ? { when: opts.when } : {}) });
  }

  eventsFor(jobId: string, opts: { appliedOnly?: boolean } = {}): JobEvent[] {
    return (this.eventsByJob.get(jobId) ?? []).filter((e) => !opts.appliedOnly || e.applied).map((e) => e.event);
  }

  terminalsFor(jobId: string): JobEvent[] {
    return this.eventsFor(jobId, { appliedOnly: true }).filter((e) => e.type === "job.succeeded" || e.type === "job.failed" || e.type === "job.cancelled");
  }

  /** Waits for the job's (first applied) terminal event. */
  async waitForTerminal(jobId: string, timeoutMs = 10_000): Promise<JobEvent> {
    return this.waitUntil(() => this.terminalsFor(jobId)[0], timeoutMs, `a terminal event for ${jobId}`);
  }

  waitForEvent(pred: (e: JobEvent) => boolean, timeoutMs = 10_000, what = "an event"): Promise<JobEvent> {
    return this.waitUntil(() => this.events.find((e) => e.applied && pred(e.event))?.event, timeoutMs, what);
  }

  waitForHeartbeat(pred: (h: Heartbeat) => boolean, timeoutMs = 10_000): Promise<Heartbeat> {
    return this.waitUntil(() => this.heartbeats.findLast(pred), timeoutMs, "a heartbeat");
  }

  waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return waitUntil(
      this.waiters,
      probe,
      timeoutMs,
      what,
      () => `events: ${JSON.stringify(this.events.map((e) => `${e.event.job_id}#${e.event.seq} ${e.event.type}${e.applied ? "" : " (dup)"}`))}`,
    );
  }

  // ===== host → edge =====

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://edge.invalid");
    const body = await readAll(req);
    const m = /^\/v1\/hosts\/([^/]+)\/(heartbeat|events|catalog|jobs\/([^/]+)\/(?:(inputs|outputs)\/([^/]+)|(preview)))$/.exec(url.pathname);
    if (!m) return reply(res, 404, { error: "no route" });
    const [, hostId, kind, jobIdRaw, sub, nameRaw, preview] = m;
    const route: Route =
      kind === "heartbeat"
        ? "heartbeat"
        : kind === "events"
          ? "events"
          : kind === "catalog"
            ? "catalog"
            : preview
              ? "preview"
              : sub === "inputs"
                ? "input"
                : "output";
    const expectMethod = route === "input" ? "GET" : route === "output" || route === "preview" ? "PUT" : "POST";
    if (req.method !== expectMethod) return reply(res, 405, { error: "method" });
    this.requests[route]++;
    if (hostId !== this.hostId) return this.refuse(res, route, 403, "wrong host in path");

    // Signature: over the body for POSTs, over the manifest header otherwise.
    const headers = new Headers(Object.entries(req.headers).flatMap(([k, v]) => (typeof v === "string" ? [[k, v] as [string, string]] : [])));
    const signedText =
      route === "heartbeat" || route === "events" || route === "catalog" ? body.toString("utf8") : ((req.headers[MANIFEST_HEADER] as string | undefined) ?? "");
    const verdict = await verifyHostPayload([this.secret], headers, signedText);
    if (!verdict.ok) return this.refuse(res, route, 401, `signature: ${verdict.reason}`);
    let json: unknown;
    try {
      json = JSON.parse(signedText);
    } catch {
      return this.refuse(res, route, 400, "signed payload is not JSON");
    }
    if (route === "events") {
      const type = String((json as { type?: unknown }).type);
      this.eventRequests.set(type, (this.eventRequests.get(type) ?? 0) + 1);
    }
    const fault = this.takeFault(route, json);
    if (fault && !fault.afterApply) return reply(res, fault.status, { error: "injected fault" });

    const answer = (status: number, value: unknown, raw?: { bytes: Buffer; contentType: string }) => {
      if (fault) return reply(res, fault.status, { error: "injected fault (after apply)" });
      if (raw) {
        res.writeHead(status, { "Content-Type": raw.contentType, "Content-Length": raw.bytes.length });
        return void res.end(raw.bytes);
      }
      return reply(res, status, value);
    };

    if (route === "heartbeat") {
      const hb = Heartbeat.safeParse(json);
      if (!hb.success || hb.data.host_id !== this.hostId) return this.refuse(res, route, 400, "bad heartbeat");
      this.heartbeats.push(hb.data);
      const out: HeartbeatReply = {
        renewed: [],
        cancel: this.pendingCancel,
        revoked: this.pendingRevoke,
        ...(this.wantCatalog ? { catalog_wanted: true } : {}),
        ...(this.edgeJwksUpdate !== undefined ? { edge_jwks: this.edgeJwksUpdate } : {}),
      };
      this.wantCatalog = false;
      this.pendingCancel = [];
      this.pendingRevoke = [];
      for (const j of hb.data.jobs)
        if (this.renewLeases && this.isCurrent(j))
          out.renewed.push({ job_id: j.job_id, attempt: j.attempt, lease_id: j.lease_id, lease_expires_at: Date.now() + 60_000 });
      this.notify();
      return answer(200, out);
    }

    if (route === "catalog") {
      const cat = HostCatalog.safeParse(json);
      if (!cat.success || cat.data.host_id !== this.hostId) return this.refuse(res, route, 400, "bad catalog");
      if ((await catalogHash(cat.data)) !== cat.data.hash) return this.refuse(res, route, 400, "catalog hash does not match its content");
      const stored = !this.catalogs.some((c) => c.hash === cat.data.hash);
      this.catalogs.push(cat.data);
      this.notify();
      return answer(200, { hash: cat.data.hash, stored });
    }

    if (route === "events") {
      const ev = JobEvent.safeParse(json);
      if (!ev.success || ev.data.host_id !== this.hostId) return this.refuse(res, route, 400, "bad event");
      const applied = this.applyEvent(ev.data);
      if (applied === "stale") return reply(res, 409, { type: "stale" });
      return answer(200, { applied });
    }

    // input / output / preview: the manifest must name this very request.
    const manifest = RequestManifest.safeParse(json);
    if (!manifest.success) return this.refuse(res, route, 400, "bad manifest");
    const man = manifest.data;
    const jobId = decodeURIComponent(jobIdRaw!);
    if (man.method !== req.method || man.path !== url.pathname || man.host_id !== this.hostId || man.job_id !== jobId)
      return this.refuse(res, route, 401, "manifest does not match the request");
    if (!this.isCurrent(man)) return reply(res, 409, { type: "stale" });
    if (route === "preview") {
      if (man.size !== body.length || man.sha256 !== sha256(body) || man.content_type !== req.headers["content-type"])
        return this.refuse(res, route, 400, "body does not match the manifest");
      const type = PREVIEW_CONTENT_TYPES.find((t) => t === man.content_type);
      if (!type || !isImage(type, body) || man.kind !== undefined) return this.refuse(res, route, 400, "not a preview frame");
      if (this.previewGate) await this.previewGate;
      this.previews.push({ jobId, bytes: body, contentType: type, manifest: man });
      this.arrivals.push(`preview ${jobId}`);
      this.notify();
      if (fault) return reply(res, fault.status, { error: "injected fault (after apply)" });
      res.writeHead(204).end();
      return;
    }
    const name = decodeURIComponent(nameRaw!);
    if (route === "input") {
      const input = this.inputs.get(`${jobId}/${name}`);
      if (!input) return reply(res, 404, { error: "no such input" });
      this.inputFetches.push(`${jobId}/${name}`);
      return answer(200, undefined, input);
    }
    if (man.size !== body.length || man.sha256 !== sha256(body) || man.content_type !== req.headers["content-type"])
      return this.refuse(res, route, 400, "body does not match the manifest");
    if (this.uploadGate) await this.uploadGate;
    let files = this.outputs.get(jobId);
    if (!files) {
      files = new Map();
      this.outputs.set(jobId, files);
    }
    files.set(name, { bytes: body, contentType: man.content_type ?? "", manifest: man });
    this.arrivals.push(`output ${jobId}/${name}`);
    this.notify();
    // The job's last output may carry its job.succeeded: applied now that the output is stored.
    const carried = man.terminal;
    if (!carried) return answer(201, { stored: true });
    if (carried.type !== "job.succeeded" || carried.job_id !== jobId || carried.attempt !== man.attempt || carried.lease_id !== man.lease_id)
      return this.refuse(res, route, 422, "an upload may carry only its own attempt's job.succeeded");
    // Faults set on "events" hit the event wherever it travels: tests of its delivery hold either way.
    this.eventRequests.set(carried.type, (this.eventRequests.get(carried.type) ?? 0) + 1);
    const eventFault = this.takeFault("events", carried);
    if (eventFault && !eventFault.afterApply) return reply(res, eventFault.status, { error: "injected fault" });
    const applied = this.applyEvent(carried);
    if (applied === "stale") return reply(res, 409, { type: "stale" });
    if (eventFault) return reply(res, eventFault.status, { error: "injected fault (after apply)" });
    return answer(201, { stored: true, terminal: { applied } });
  }

  /** Applies a job event (posted, or carried by an upload): whether it was newer than the last one, or stale. */
  private applyEvent(event: JobEvent): boolean | "stale" {
    if (!this.isCurrent(event)) {
      this.record({ event, applied: false, status: 409 });
      this.notify();
      return "stale";
    }
    const seqKey = `${event.job_id}/${event.attempt}`;
    const applied = event.seq > (this.lastSeq.get(seqKey) ?? -1);
    if (applied) this.lastSeq.set(seqKey, event.seq);
    this.record({ event, applied, status: 200 });
    if (applied) this.arrivals.push(`event ${event.job_id} ${event.type}`);
    if (applied) this.onEvent?.(event);
    this.notify();
    return applied;
  }

  private isCurrent(ref: { job_id: string; attempt: number; lease_id: string }): boolean {
    const lease = this.leases.get(ref.job_id);
    return lease !== undefined && lease.attempt === ref.attempt && lease.lease_id === ref.lease_id;
  }

  private takeFault(route: Route, body: unknown): Fault | undefined {
    const fault = this.faults.find((f) => f.route === route && f.remaining > 0 && (!f.when || f.when(body)));
    if (fault) fault.remaining--;
    return fault;
  }

  private refuse(res: ServerResponse, route: string, status: number, reason: string): void {
    this.rejected.push({ route, reason });
    reply(res, status, { error: reason });
  }

  private record(recorded: RecordedEvent): void {
    this.events.push(recorded);
    const list = this.eventsByJob.get(recorded.event.job_id);
    if (list) list.push(recorded);
    else this.eventsByJob.set(recorded.event.job_id, [recorded]);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

export interface HostReply {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

export async function post(hostUrl: string, path: string, body: string, headers: Record<string, string> = {}): Promise<HostReply> {
  const res = await fetch(`${hostUrl}${path}`, {
    method: "POST",
    body,
    headers: { "Content-Type": "application/json", ...headers },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json, headers: res.headers };
}

/** The bytes start like the image type they claim (what the edge sniffs). */
function isImage(type: (typeof PREVIEW_CONTENT_TYPES)[number], bytes: Buffer): boolean {
  const magic = type === "image/jpeg" ? [0xff, 0xd8, 0xff] : [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes.length > magic.length && magic.every((b, i) => bytes[i] === b);
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value ?? {});
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
