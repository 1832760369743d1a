/**
 * Every host → edge request: signing (Standard Webhooks with the host secret(s); a fresh
 * signature per try, so a retry is never refused as a replay), timeouts and retries.
 *
 * Retry policy: network errors and 5xx are retried with exponential backoff and jitter, up to
 * EDGE_RETRY_ATTEMPTS tries; a 4xx never is. 409 means the edge no longer considers this
 * (attempt, lease) current — fencing — and is reported as `stale` so the caller drops the job.
 * Outcomes are a tagged union; nothing here throws for an HTTP answer.
 */
import { HOST_ID_HEADER, signHostManifest, signHostPayload } from "../../../src/protocol/host-signing.ts";
import {
  type DispatchRef,
  type HostManifest,
  type InputRef,
  type JobEvent,
  type ModelRef,
  OutputStored,
  type RequestManifest,
} from "../../../src/protocol/messages.ts";
import { edgePaths } from "../../../src/protocol/paths.ts";
import { readCapped } from "../comfy/client.ts";
import type { Config } from "../config.ts";
import { backoffDelay, sleep } from "../lib/async.ts";
import { sha256Hex } from "../lib/hash.ts";
import type { Logger } from "../log.ts";

export type EdgeResult<T> =
  | { ok: true; status: number; value: T }
  | { ok: false; reason: "stale"; status: 409 }
  | { ok: false; reason: "rejected"; status: number; detail: string }
  | { ok: false; reason: "unavailable"; detail: string }
  | { ok: false; reason: "aborted" };

type Attempt<T> = { done: true; result: EdgeResult<T> } | { done: false; detail: string };

export interface EdgeRequestOptions {
  signal?: AbortSignal;
  /** Tries for this request (default EDGE_RETRY_ATTEMPTS). */
  attempts?: number;
}

export type EdgeClientConfig = Pick<
  Config,
  | "edgeUrl"
  | "hostId"
  | "hostSecrets"
  | "edgeRequestTimeoutMs"
  | "transferTimeoutMs"
  | "previewUploadTimeoutMs"
  | "edgeRetryAttempts"
  | "edgeRetryBaseMs"
  | "edgeRetryMaxDelayMs"
>;

export class EdgeClient {
  private readonly cfg: EdgeClientConfig;
  private readonly log: Logger;
  private readonly onRequest: (kind: string, outcome: string) => void;

  constructor(cfg: EdgeClientConfig, log: Logger, onRequest: (kind: string, outcome: string) => void = () => {}) {
    this.cfg = cfg;
    this.log = log;
    this.onRequest = onRequest;
  }

  /** POST a JSON message (heartbeat, job event); the reply is parsed by `parse`. */
  postJson<T>(kind: string, path: string, payload: unknown, parse: (json: unknown) => T | undefined, opts: EdgeRequestOptions = {}): Promise<EdgeResult<T>> {
    const body = JSON.stringify(payload);
    return this.withRetries<T>(kind, opts, async (signal) => {
      const headers = { ...(await signHostPayload(this.cfg.hostSecrets, body)), "content-type": "application/json", [HOST_ID_HEADER]: this.cfg.hostId };
      const res = await fetch(new URL(path, this.cfg.edgeUrl), { method: "POST", body, headers, signal: timeoutSignal(signal, this.cfg.edgeRequestTimeoutMs) });
      const text = await res.text();
      const status = classify(res.status);
      if (status !== "ok") return status === "retry" ? { done: false, detail: `HTTP ${res.status}` } : { done: true, result: failure(res.status, text) };
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const value = parse(json);
      if (value === undefined)
        return { done: true, result: { ok: false, reason: "rejected", status: res.status, detail: `unexpected reply: ${text.slice(0, 200)}` } };
      return { done: true, result: { ok: true, status: res.status, value } };
    });
  }

  /** Downloads one input and checks it is exactly the bytes the dispatch announced. */
  getInput(ref: DispatchRef, input: InputRef, maxBytes: number, opts: EdgeRequestOptions = {}): Promise<EdgeResult<Uint8Array>> {
    const path = edgePaths.input(this.cfg.hostId, ref.job_id, input.id);
    return this.withRetries<Uint8Array>("input", opts, async (signal) => {
      const headers = { ...(await signHostManifest(this.cfg.hostSecrets, this.manifest(ref, "GET", path))), [HOST_ID_HEADER]: this.cfg.hostId };
      const res = await fetch(new URL(path, this.cfg.edgeUrl), { method: "GET", headers, signal: timeoutSignal(signal, this.cfg.transferTimeoutMs) });
      const status = classify(res.status);
      if (status !== "ok") {
        const text = await res.text().catch(() => "");
        return status === "retry" ? { done: false, detail: `HTTP ${res.status}` } : { done: true, result: failure(res.status, text) };
      }
      const bytes = await readCapped(res, Math.min(maxBytes, input.size));
      // A short or corrupted transfer is retried; an announced size over our cap is not.
      if (bytes === undefined) {
        if (input.size > maxBytes)
          return { done: true, result: { ok: false, reason: "rejected", status: 413, detail: `input is ${input.size} bytes, over MAX_INPUT_BYTES` } };
        return { done: false, detail: "input longer than announced" };
      }
      if (bytes.length !== input.size || sha256Hex(bytes) !== input.sha256)
        return { done: false, detail: "input bytes do not match the announced size/sha256" };
      return { done: true, result: { ok: true, status: res.status, value: bytes } };
    });
  }

  /**
   * Opens a registered model file the job names, by its SHA-256: the stream, unread (the model
   * cache counts and hashes it as it writes it to disk). Only opening is retried; a stall or a cut
   * mid-stream fails the download, and the cache starts over.
   */
  openModel(ref: DispatchRef, model: ModelRef, opts: EdgeRequestOptions = {}): Promise<EdgeResult<ReadableStream<Uint8Array>>> {
    const path = edgePaths.model(this.cfg.hostId, ref.job_id, model.sha256);
    return this.openStream("model", path, this.manifest(ref, "GET", path), opts);
  }

  /** Opens a model file the host's pool pins (not bound to a job), like openModel. */
  openPinnedModel(model: ModelRef, opts: EdgeRequestOptions = {}): Promise<EdgeResult<ReadableStream<Uint8Array>>> {
    const path = edgePaths.pinnedModel(this.cfg.hostId, model.sha256);
    return this.openStream("pinned_model", path, { host_id: this.cfg.hostId, method: "GET", path }, opts);
  }

  private openStream(
    kind: string,
    path: string,
    manifest: RequestManifest | HostManifest,
    opts: EdgeRequestOptions,
  ): Promise<EdgeResult<ReadableStream<Uint8Array>>> {
    return this.withRetries<ReadableStream<Uint8Array>>(kind, opts, async (signal) => {
      const headers = { ...(await signHostManifest(this.cfg.hostSecrets, manifest)), [HOST_ID_HEADER]: this.cfg.hostId };
      // The request timeout covers the answer's headers only: the body of a model may take minutes.
      // After that, a body silent for TRANSFER_TIMEOUT_MS is cut (a stall, not a slow link).
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const headersDue = setTimeout(() => controller.abort(new Error("no answer within EDGE_REQUEST_TIMEOUT_MS")), this.cfg.edgeRequestTimeoutMs);
      let res: Response;
      try {
        res = await fetch(new URL(path, this.cfg.edgeUrl), { method: "GET", headers, signal: controller.signal });
      } finally {
        clearTimeout(headersDue);
      }
      const status = classify(res.status);
      if (status !== "ok" || !res.body) {
        signal?.removeEventListener("abort", onAbort);
        const text = await res.text().catch(() => "");
        if (status === "ok") return { done: false, detail: "no body" };
        return status === "retry" ? { done: false, detail: `HTTP ${res.status}` } : { done: true, result: failure(res.status, text) };
      }
      const stallMs = this.cfg.transferTimeoutMs;
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(new Error(`the model download stalled for ${stallMs} ms`)), stallMs);
        idle.unref();
      };
      arm();
      const body = (res.body as ReadableStream<Uint8Array>).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            arm();
            ctl.enqueue(chunk);
          },
          flush() {
            clearTimeout(idle);
            signal?.removeEventListener("abort", onAbort);
          },
        }),
      );
      return { done: true, result: { ok: true, status: res.status, value: body } };
    });
  }

  /**
   * Uploads one output; the signed manifest carries its type, size, SHA-256 and producing node
   * (`sha256`: the caller's hash of `bytes`, when it has one, so a large file is hashed once).
   */
  putOutput(
    ref: DispatchRef,
    output: { name: string; contentType: string; nodeId: string; kind: string; sha256?: string },
    bytes: Uint8Array,
    opts: EdgeRequestOptions & { terminal?: JobEvent } = {},
  ): Promise<EdgeResult<OutputStored | null>> {
    const path = edgePaths.output(this.cfg.hostId, ref.job_id, output.name);
    const manifest = {
      ...this.uploadManifest(ref, path, output.contentType, bytes, output.sha256),
      node_id: output.nodeId,
      kind: output.kind,
      ...(opts.terminal ? { terminal: opts.terminal } : {}),
    };
    return this.putBytes("output", path, manifest, bytes, this.cfg.transferTimeoutMs, opts, (json) => OutputStored.safeParse(json).data ?? null);
  }

  /**
   * Uploads a running job's latest sampler preview frame, signed like an output (no `kind`;
   * `node_id` when ComfyUI named the node). One try, within PREVIEW_UPLOAD_TIMEOUT_MS: a lost
   * frame is replaced by the next one, never resent.
   */
  putPreview(
    ref: DispatchRef,
    frame: { contentType: string; bytes: Uint8Array; nodeId?: string | undefined },
    opts: { signal?: AbortSignal } = {},
  ): Promise<EdgeResult<null>> {
    const path = edgePaths.preview(this.cfg.hostId, ref.job_id);
    const nodeId = frame.nodeId !== undefined && frame.nodeId.length <= 64 ? { node_id: frame.nodeId } : {};
    const manifest = { ...this.uploadManifest(ref, path, frame.contentType, frame.bytes), ...nodeId };
    return this.putBytes("preview", path, manifest, frame.bytes, this.cfg.previewUploadTimeoutMs, { ...opts, attempts: 1 });
  }

  private putBytes<T = null>(
    kind: string,
    path: string,
    manifest: RequestManifest,
    bytes: Uint8Array,
    timeoutMs: number,
    opts: EdgeRequestOptions,
    parse: (json: unknown) => T = () => null as T,
  ): Promise<EdgeResult<T>> {
    const contentType = manifest.content_type ?? "application/octet-stream";
    return this.withRetries<T>(kind, opts, async (signal) => {
      const headers = { ...(await signHostManifest(this.cfg.hostSecrets, manifest)), "content-type": contentType, [HOST_ID_HEADER]: this.cfg.hostId };
      const res = await fetch(new URL(path, this.cfg.edgeUrl), {
        method: "PUT",
        body: bytes as Uint8Array<ArrayBuffer>,
        headers,
        signal: timeoutSignal(signal, timeoutMs),
      });
      const text = await res.text().catch(() => "");
      const status = classify(res.status);
      if (status === "retry") return { done: false, detail: `HTTP ${res.status}` };
      if (status === "fail") return { done: true, result: failure(res.status, text) };
      let json: unknown;
      try {
        json = text === "" ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { done: true, result: { ok: true, status: res.status, value: parse(json) } };
    });
  }

  /** An upload's manifest: the request itself and the body it must carry. */
  private uploadManifest(ref: DispatchRef, path: string, contentType: string, bytes: Uint8Array, sha256 = sha256Hex(bytes)): RequestManifest {
    return { ...this.manifest(ref, "PUT", path), content_type: contentType, size: bytes.length, sha256 };
  }

  private manifest(ref: DispatchRef, method: "GET" | "PUT", path: string): RequestManifest {
    return { job_id: ref.job_id, attempt: ref.attempt, lease_id: ref.lease_id, host_id: this.cfg.hostId, method, path };
  }

  private async withRetries<T>(
    kind: string,
    opts: EdgeRequestOptions,
    attempt: (signal: AbortSignal | undefined) => Promise<Attempt<T>>,
  ): Promise<EdgeResult<T>> {
    const tries = opts.attempts ?? this.cfg.edgeRetryAttempts;
    let detail = "";
    for (let i = 0; i < tries; i++) {
      if (opts.signal?.aborted) return { ok: false, reason: "aborted" };
      try {
        const outcome = await attempt(opts.signal);
        if (outcome.done) {
          this.onRequest(kind, outcome.result.ok ? "ok" : outcome.result.reason);
          return outcome.result;
        }
        detail = outcome.detail;
      } catch (err) {
        if (opts.signal?.aborted) return { ok: false, reason: "aborted" };
        detail = describe(err);
      }
      this.log.debug("edge_request_retry", { kind, try: i + 1, detail });
      if (i + 1 < tries) {
        try {
          await sleep(backoffDelay(i, this.cfg.edgeRetryBaseMs, this.cfg.edgeRetryMaxDelayMs), opts.signal);
        } catch {
          return { ok: false, reason: "aborted" };
        }
      }
    }
    this.onRequest(kind, "unavailable");
    return { ok: false, reason: "unavailable", detail };
  }
}

function classify(status: number): "ok" | "retry" | "fail" {
  if (status >= 200 && status < 300) return "ok";
  if (status >= 500) return "retry";
  return "fail";
}

function failure(status: number, text: string): EdgeResult<never> {
  if (status === 409) return { ok: false, reason: "stale", status: 409 };
  return { ok: false, reason: "rejected", status, detail: text.slice(0, 300) };
}

function timeoutSignal(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  return e.cause?.code ?? `${e.name}: ${e.message}`;
}
