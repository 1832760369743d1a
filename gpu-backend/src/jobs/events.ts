/**
 * The ordered stream of one job attempt's events to the edge.
 *
 * - `seq` starts at 0 and grows by one per event sent for this (job, attempt); a retried event
 *   keeps its seq, so the edge (which ignores anything not newer than what it applied) applies it
 *   once.
 * - Events go one at a time, in order. Progress is throttled (the latest value wins, trailing
 *   value sent after the interval; an unsent one waiting in the queue is replaced by the newer
 *   one, so a slow edge never builds a backlog) and never retried: a lost progress update is harmless and must
 *   not hold up the terminal event behind a retry budget. Sent in order, the `percent` values
 *   the edge sees never go down, since they never do at the source (progress.ts). `job.executed`
 *   (the prompt is over, the GPU is free) is sent the same way; the heartbeat's `uploading` state
 *   backs it up.
 * - A terminal event discards unsent progress (and an unsent `job.executed`: the terminal event
 *   frees the GPU slot at the edge anyway). Its delivery result is returned so the runner knows
 *   when the job is really over. After `job.executed` no progress is sent: the prompt is over.
 * - A 409 means this attempt/lease is no longer current (fencing): nothing more is sent and the
 *   owner is told to drop the job.
 */
import { type DispatchRef, EventReply, type HostSpans, JobEvent, type JobFailure, type OutputDescriptor } from "../../../src/protocol/messages.ts";
import { edgePaths } from "../../../src/protocol/paths.ts";
import type { EdgeClient } from "../edge/client.ts";
import type { Logger } from "../log.ts";

export type Delivery = "delivered" | "stale" | "rejected" | "unavailable" | "closed";

export type TerminalBody =
  | {
      type: "job.succeeded";
      outputs: OutputDescriptor[];
      upload_ms?: number;
      execution_ms?: number;
      model_fetch_ms?: number;
      input_fetch_ms?: number;
      spans?: HostSpans;
    }
  | { type: "job.failed"; error: JobFailure; model_fetch_ms?: number; input_fetch_ms?: number; spans?: HostSpans }
  | { type: "job.cancelled"; spans?: HostSpans };

/** What a `job.progress` event carries (the protocol's progress object). */
export type ProgressBody = Extract<JobEvent, { type: "job.progress" }>["progress"];

interface Pending {
  event: JobEvent;
  progress: boolean;
  settle: (d: Delivery) => void;
  /** Its seq was given when it was reserved (reserveTerminal). */
  reserved?: boolean;
}

export class JobEvents {
  private seq = 0;
  private readonly queue: Pending[] = [];
  private pumping = false;
  private closed = false;
  private readonly abort = new AbortController();
  private latestProgress: ProgressBody | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private lastProgressAt = 0;
  private readonly ref: DispatchRef;
  private readonly hostId: string;
  private readonly edge: EdgeClient;
  private readonly progressIntervalMs: number;
  private readonly onStale: () => void;
  private readonly onDelivered: (sentAt: number) => void;
  private readonly log: Logger;
  private readonly executedDelayMs: number;
  private executedTimer: NodeJS.Timeout | undefined;
  private executedSend: (() => void) | undefined;
  private readonly startedDelayMs: number;
  private startedHeld: { body: Record<string, unknown>; timer: NodeJS.Timeout } | undefined;
  startedSent = false;
  terminalQueued = false;
  private executedQueued = false;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: {
    ref: DispatchRef;
    hostId: string;
    edge: EdgeClient;
    progressIntervalMs: number;
    onStale: () => void;
    onDelivered: (sentAt: number) => void;
    log: Logger;
    /** How long `job.executed` waits for the terminal event to make it unnecessary (default 0: sent at once). */
    executedDelayMs?: number;
    /** Likewise for `job.started` (default 0). */
    startedDelayMs?: number;
  }) {
    this.executedDelayMs = opts.executedDelayMs ?? 0;
    this.startedDelayMs = opts.startedDelayMs ?? 0;
    this.ref = { job_id: opts.ref.job_id, attempt: opts.ref.attempt, lease_id: opts.ref.lease_id };
    this.hostId = opts.hostId;
    this.edge = opts.edge;
    this.progressIntervalMs = opts.progressIntervalMs;
    this.onStale = opts.onStale;
    this.onDelivered = opts.onDelivered;
    this.log = opts.log;
  }

  /**
   * Held back `startedDelayMs` like job.executed: a prompt over by then is reported by its terminal
   * event alone (which carries the same timings), one signed call instead of two. Anything else
   * sent meanwhile (progress, job.executed) sends it first, so the order the edge sees holds.
   */
  started(promptId: string, timings: { model_fetch_ms?: number; input_fetch_ms?: number } = {}): void {
    if (this.startedSent || this.terminalQueued) return;
    this.startedSent = true;
    const body = { type: "job.started", prompt_id: promptId, ...timings };
    if (this.startedDelayMs <= 0) return void this.enqueue(body, false);
    this.startedHeld = { body, timer: setTimeout(() => this.flushStarted(), this.startedDelayMs) };
  }

  private flushStarted(): void {
    const held = this.startedHeld;
    if (!held) return;
    this.startedHeld = undefined;
    clearTimeout(held.timer);
    if (!this.terminalQueued && !this.closed) void this.enqueue(held.body, false);
  }

  /** A held job.started that the terminal event makes unnecessary. */
  private dropHeldStarted(): void {
    if (this.startedHeld) clearTimeout(this.startedHeld.timer);
    this.startedHeld = undefined;
  }

  progress(p: ProgressBody): void {
    // Once the prompt is over, a progress message still on its way from ComfyUI's WebSocket is stale.
    if (this.terminalQueued || this.executedQueued || this.closed) return;
    this.latestProgress = {
      value: Math.max(0, p.value),
      max: Math.max(0, p.max),
      node: p.node === null ? null : p.node.slice(0, 64),
      ...(p.node_type !== undefined ? { node_type: p.node_type === null ? null : p.node_type.slice(0, 128) } : {}),
      ...(p.percent !== undefined ? { percent: Math.min(100, Math.max(0, p.percent)) } : {}),
    };
    const wait = this.lastProgressAt + this.progressIntervalMs - Date.now();
    if (wait <= 0) this.flushProgress();
    else this.progressTimer ??= setTimeout(() => this.flushProgress(), wait);
  }

  /**
   * The prompt is over in ComfyUI (outputs still to upload): the edge may refill the GPU now. Held
   * back `executedDelayMs` first: when the outputs are up by then, the terminal event frees the
   * slot itself and the edge is spared a signed call (and a write) per job.
   */
  executed(executionMs?: number): void {
    if (this.terminalQueued || this.executedQueued || this.closed) return;
    this.executedQueued = true;
    this.clearProgress();
    const send = () => {
      this.executedTimer = undefined;
      this.executedSend = undefined;
      if (this.terminalQueued || this.closed) return;
      void this.enqueue({ type: "job.executed", ...(executionMs !== undefined ? { execution_ms: executionMs } : {}) }, true);
    };
    if (this.executedDelayMs <= 0) return send();
    this.executedSend = send;
    this.executedTimer = setTimeout(send, this.executedDelayMs);
  }

  terminal(body: TerminalBody): Promise<Delivery> {
    this.endStream();
    return this.enqueue(body, false);
  }

  /**
   * The terminal event's turn, for a caller that delivers it another way (the job's last output
   * upload carries it, runner.ts): resolves once every event before it was delivered, with the
   * event and its seq; undefined if the job was dropped meanwhile. When the other way did not
   * apply it, `deliverReserved` posts it — or another terminal event under the same seq.
   */
  async reserveTerminal(body: TerminalBody): Promise<JobEvent | undefined> {
    this.endStream();
    await new Promise<void>((resolve) => (this.closed || (!this.pumping && this.queue.length === 0) ? resolve() : this.idleWaiters.push(resolve)));
    if (this.closed) return undefined;
    return JobEvent.parse({ ...body, ...this.ref, host_id: this.hostId, seq: this.seq++, at: Date.now() });
  }

  /** Sends a held-back `job.executed` now. */
  flushExecuted(): void {
    if (!this.executedTimer) return;
    clearTimeout(this.executedTimer);
    this.executedSend?.();
  }

  /** Aborted when the job is dropped: what a caller sends for the stream (a carried terminal event) stops with it. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Another terminal event in a reserved one's place (same seq). */
  replaceReserved(event: JobEvent, body: TerminalBody): JobEvent {
    return JobEvent.parse({ ...body, ...this.ref, host_id: this.hostId, seq: event.seq, at: Date.now() });
  }

  /** Posts a reserved terminal event (with retries, like terminal()). */
  deliverReserved(event: JobEvent): Promise<Delivery> {
    if (this.closed) return Promise.resolve("closed");
    return new Promise<Delivery>((settle) => {
      this.queue.push({ event, progress: false, settle, reserved: true });
      void this.pump();
    });
  }

  /** What the caller's own delivery of a reserved event came to: a delivery renews the lease; a 409 drops the job. */
  reservedOutcome(outcome: { delivered: true; sentAt: number } | { stale: true }): void {
    if ("delivered" in outcome) return this.onDelivered(outcome.sentAt);
    this.log.warn("job_stale", { type: "terminal (carried)" });
    this.close();
    this.onStale();
  }

  /** No more progress or job.executed: the terminal event comes next. Unsent progress would only be ignored after it. */
  private endStream(): void {
    this.terminalQueued = true;
    this.dropHeldStarted();
    clearTimeout(this.executedTimer);
    this.clearProgress();
    for (let i = this.queue.length - 1; i >= 1; i--) {
      const p = this.queue[i]!;
      if (p.progress) {
        this.queue.splice(i, 1);
        p.settle("closed");
      }
    }
  }

  /** The job was dropped: send nothing more, stop any retry in flight. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropHeldStarted();
    clearTimeout(this.executedTimer);
    this.clearProgress();
    this.abort.abort(new Error("job dropped"));
    for (const p of this.queue.splice(0)) p.settle("closed");
    this.wakeIdle();
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private flushProgress(): void {
    this.progressTimer = undefined;
    const p = this.latestProgress;
    if (!p || this.terminalQueued || this.closed) return;
    this.latestProgress = undefined;
    this.lastProgressAt = Date.now();
    // A progress event still waiting behind the one in flight is replaced, not joined: when the
    // edge answers slower than the interval, the queue holds at most one, the latest.
    const last = this.queue.at(-1);
    const unsent = last !== undefined && (this.queue.length > 1 || !this.pumping);
    if (unsent && last.event.type === "job.progress") {
      last.event = { ...last.event, progress: p, at: Date.now() };
      return;
    }
    void this.enqueue({ type: "job.progress", progress: p }, true);
  }

  private clearProgress(): void {
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    this.latestProgress = undefined;
  }

  private enqueue(body: Record<string, unknown>, progress: boolean): Promise<Delivery> {
    if (this.closed) return Promise.resolve("closed");
    // Nothing overtakes a held job.started (the terminal event drops it instead: endStream).
    if (body.type !== "job.started") this.flushStarted();
    // seq is given when the event is first sent, so events dropped unsent leave no gap.
    const event = JobEvent.parse({ ...body, ...this.ref, host_id: this.hostId, seq: 0, at: Date.now() });
    return new Promise<Delivery>((settle) => {
      this.queue.push({ event, progress, settle });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const item = this.queue[0]!;
        if (!item.reserved) item.event.seq = this.seq++;
        const sentAt = Date.now();
        const result = await this.edge.postJson("event", edgePaths.events(this.hostId), item.event, (json) => EventReply.safeParse(json).data, {
          signal: this.abort.signal,
          ...(item.progress ? { attempts: 1 } : {}),
        });
        if (this.queue[0] === item) this.queue.shift();
        if (result.ok) {
          this.onDelivered(sentAt);
          item.settle("delivered");
          continue;
        }
        if (result.reason === "stale") {
          item.settle("stale");
          this.log.warn("job_stale", { seq: item.event.seq, type: item.event.type });
          this.close();
          this.onStale();
          return;
        }
        if (result.reason === "aborted") {
          item.settle("closed");
          continue;
        }
        this.log.warn("event_not_delivered", {
          seq: item.event.seq,
          type: item.event.type,
          reason: result.reason,
          detail: "detail" in result ? result.detail : undefined,
        });
        item.settle(result.reason);
      }
    } finally {
      this.pumping = false;
      if (this.queue.length === 0) this.wakeIdle();
    }
  }
}
