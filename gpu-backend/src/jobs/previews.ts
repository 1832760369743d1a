/**
 * Forwards one job attempt's sampler previews to the edge while its prompt runs (issue 15), under
 * the dispatch's PreviewTerms. A job dispatched without them gets no forwarder: nothing is sent.
 *
 * - At most one upload in flight, and uploads start at least `min_interval_ms` apart.
 * - The latest frame wins: a newer frame replaces one not sent yet, and the one left waiting is
 *   sent once the interval has passed (and the upload before it is over).
 * - Frames over `max_bytes` are skipped. Nothing is retried (the upload makes one try, with a
 *   short timeout): a lost frame is replaced by the next one.
 * - A 4xx stops previews for the job (logged once); so does a 409, the stale-lease signal, which
 *   the event stream acts on (fencing) — previews only stop. Network errors and 5xx lose that
 *   frame only.
 * - `close` (the prompt ended, the job stopped) sends nothing more and resolves once no upload is
 *   in flight; an abort of `signal` (any stop decision) also cuts the one in flight.
 * Every frame offered is counted once: sent, or dropped with its reason.
 * Previews never hold up the job: nothing here is awaited by the runner except `close`, which
 * waits for at most one upload, itself bounded by its timeout.
 */
import type { PreviewTerms } from "../../../src/protocol/messages.ts";
import type { Preview } from "../comfy/preview.ts";
import type { EdgeResult } from "../edge/client.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";

export type DropReason = "replaced" | "too_large" | "failed" | "rejected" | "stale" | "stopped" | "ended";

export type PreviewUpload = (frame: Preview, signal: AbortSignal) => Promise<EdgeResult<null>>;

export interface PreviewForwarderOptions {
  terms: PreviewTerms;
  upload: PreviewUpload;
  /** The job's stop signal: once aborted, nothing more is sent and the upload in flight is cut. */
  signal: AbortSignal;
  log: Logger;
  metrics: Pick<Metrics, "previewsSent" | "previewsDropped">;
}

export class PreviewForwarder {
  private readonly terms: PreviewTerms;
  private readonly upload: PreviewUpload;
  private readonly log: Logger;
  private readonly metrics: PreviewForwarderOptions["metrics"];
  private readonly abort = new AbortController();
  /** The newest frame not sent yet. */
  private pending: Preview | undefined;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  /** Why nothing more is sent: the edge refused (4xx, 409) or the job is over. */
  private stopped: "rejected" | "stale" | "ended" | undefined;

  constructor(opts: PreviewForwarderOptions) {
    this.terms = opts.terms;
    this.upload = opts.upload;
    this.log = opts.log;
    this.metrics = opts.metrics;
    const onAbort = () => {
      this.abort.abort(opts.signal.reason);
      void this.close();
    };
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener("abort", onAbort, { once: true });
  }

  /** A frame ComfyUI sent for this job's prompt. */
  offer(frame: Preview): void {
    if (this.stopped) return this.drop(this.stopped === "ended" ? "ended" : "stopped");
    if (frame.bytes.length > this.terms.max_bytes) return this.drop("too_large");
    if (this.pending) this.drop("replaced");
    this.pending = frame;
    this.schedule();
  }

  /** Sends nothing more (an unsent frame is dropped); resolves once no upload is in flight. */
  /** A frame is being uploaded (close() would wait for it). */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  close(): Promise<void> {
    if (!this.stopped) this.stopped = "ended";
    this.clearPending("ended");
    return this.inFlight ?? Promise.resolve();
  }

  private schedule(): void {
    if (this.inFlight || this.timer || !this.pending || this.stopped) return;
    const wait = this.lastStartAt + this.terms.min_interval_ms - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
      this.timer.unref();
      return;
    }
    const frame = this.pending;
    this.pending = undefined;
    this.lastStartAt = Date.now();
    this.inFlight = this.send(frame).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }

  private async send(frame: Preview): Promise<void> {
    let result: EdgeResult<null>;
    try {
      result = await this.upload(frame, this.abort.signal);
    } catch (err) {
      this.log.debug("preview_upload_crashed", { error: err as Error });
      return this.drop("failed");
    }
    if (result.ok) {
      this.metrics.previewsSent.inc();
      return;
    }
    switch (result.reason) {
      case "stale":
      case "rejected":
        this.drop(result.reason);
        if (this.stopped) return;
        this.stopped = result.reason;
        this.clearPending("stopped");
        this.log.info("previews_stopped", { status: result.status, ...(result.reason === "rejected" ? { detail: result.detail } : {}) });
        return;
      case "unavailable":
        this.log.debug("preview_not_delivered", { detail: result.detail });
        return this.drop("failed");
      case "aborted":
        return this.drop("ended");
    }
  }

  private clearPending(reason: DropReason): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending) this.drop(reason);
    this.pending = undefined;
  }

  private drop(reason: DropReason): void {
    this.metrics.previewsDropped.inc({ reason });
  }
}
