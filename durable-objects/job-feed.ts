/**
 * JobFeed: one object per job (`JOB_FEED.getByName(jobId)`) that records the job's events in
 * order and serves them: every open event stream of the job, `Prefer: wait`, and the latest
 * sampler preview. Why a Durable Object per job (docs/watching.md): one single-threaded place
 * per job gives the events one order and ids that only grow, and it fans each event out to all
 * of the job's streams from memory, so no stream ever polls D1; jobs spread over objects, so a
 * busy job cannot slow another's streams, and nothing is shared with the pool's Dispatcher.
 *
 * Who publishes: the Dispatcher (position, running, progress, retry), the lifecycle's
 * compare-and-set winners (terminal events, src/jobs/lifecycle.ts) and the host API (outputs,
 * previews). src/feed/rules.ts decides what is recorded, whatever order those arrive in.
 */
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../src/config/load.ts";
import type { Config } from "../src/config/schema.ts";
import { createDb } from "../src/db/client.ts";
import { dispatcherShardOf } from "../src/db/jobs.ts";
import { dispatcherOfJob } from "../src/dispatch/route.ts";
import type { Env } from "../src/env.ts";
import { type FeedInput, type FeedOrigin, isTerminalType } from "../src/feed/events.ts";
import { presentEvent, type UrlSigner } from "../src/feed/present.ts";
import { admit } from "../src/feed/rules.ts";
import { sseEvent, sseRetry } from "../src/feed/sse.ts";
import { keysOf } from "../src/lib/key-list.ts";
import { createLogger, describeError, type Logger } from "../src/lib/log.ts";
import { Client } from "./job-feed/clients.ts";
import { FeedStore, type PreviewFrame } from "./job-feed/store.ts";

/** What a stream request (from src/routes/job-events.ts) tells the feed. */
export interface StreamRequest {
  after: number;
  /** Origin of the signed URLs in events (OUTPUTS_BASE_URL, else the API's). */
  urlOrigin: string;
  origin: FeedOrigin;
}

export type StreamAnswer = { kind: "stream"; body: ReadableStream<Uint8Array> } | { kind: "over" } | { kind: "too-many"; limit: number };

const RECONNECT_MS = 2_000;
const BATCH = 500;
const MAX_WAITERS = 1_000;

export class JobFeed extends DurableObject<Env> {
  private readonly store: FeedStore;
  private readonly clients = new Set<Client>();
  private readonly waiters = new Set<(ended: boolean) => void>();
  /** Delivery passes run one after another, so every stream gets its events in id order. */
  private chain: Promise<void> = Promise.resolve();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private watching = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new FeedStore(ctx.storage.sql);
  }

  private config(): Config {
    const result = loadConfig(this.env);
    if (!result.ok) throw new Error(`misconfigured: ${result.problems.join("; ")}`);
    return result.config;
  }

  private log(): Logger {
    return createLogger(this.config().LOG_LEVEL, { component: "job-feed", job_id: this.jobId() });
  }

  private jobId(): string {
    const name = this.ctx.id.name;
    if (name === undefined) throw new Error("a JobFeed is addressed by its job id (getByName)");
    return name;
  }

  // ===== Publishing (RPC)

  /** Records what `input` adds to the job's history (src/feed/rules.ts) and sends it to every open stream. The new ids. */
  publish(input: FeedInput, origin: FeedOrigin): number[] {
    const before = this.store.state();
    const { state, record } = admit(before, input, origin, this.config().JOB_EVENTS_MAX);
    if (record.length === 0) return [];
    const ids = this.store.record({ jobId: this.jobId(), pool: before?.pool ?? origin.pool }, state, record);
    if (state.status === "ended") {
      // The frame was only ever for watching a run; the outputs are what remains.
      this.store.dropPreview();
      for (const w of this.waiters) w(true);
      this.waiters.clear();
    }
    this.deliverSoon();
    if (record.some((e) => e.type === "job.queued" && e.reason === "retry") && this.clients.size > 0) this.watch(true);
    if (state.status !== "queued" && this.watching) this.watching = false;
    return ids;
  }

  /** Keeps the newest preview frame of the running attempt and announces it. False: not the running attempt. */
  setPreview(frame: PreviewFrame & { node: string | null }, origin: FeedOrigin): boolean {
    const s = this.store.state();
    if (s?.status !== "running" || s.attempt !== frame.attempt) return false;
    this.store.setPreview(frame);
    this.publish({ type: "job.preview", attempt: frame.attempt, node: frame.node, content_type: frame.contentType, at: frame.at }, origin);
    return true;
  }

  preview(): PreviewFrame | null {
    return this.store.preview() ?? null;
  }

  /** Resolves true when the job has ended (at once if it has), false after `ms`. */
  waitForEnd(ms: number): Promise<boolean> {
    if (this.store.state()?.status === "ended") return Promise.resolve(true);
    if (this.waiters.size >= MAX_WAITERS) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ended: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(ended);
      };
      const timer = setTimeout(() => done(false), ms);
      this.waiters.add(done);
    });
  }

  /**
   * Forgets the job (retention, erasure): open streams end and the stored events and preview go.
   * The job's row is already on its way out, so no route reaches this object again.
   */
  async erase(): Promise<void> {
    for (const c of [...this.clients]) c.end();
    this.clients.clear();
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    for (const w of this.waiters) w(true);
    this.waiters.clear();
    await this.ctx.storage.deleteAll();
  }

  // ===== Streams

  /** Opens a stream of the events after `req.after` (the route has checked the caller owns the job). */
  stream(req: StreamRequest): StreamAnswer {
    const cfg = this.config();
    const state = this.store.state();
    if (state?.status === "ended" && this.store.lastId() <= req.after) return { kind: "over" };
    if (this.clients.size >= cfg.EVENT_STREAMS_PER_JOB) return { kind: "too-many", limit: cfg.EVENT_STREAMS_PER_JOB };
    if (!state) this.publish({ type: "job.queued", attempt: 0, reason: "submitted", at: req.origin.createdAt }, req.origin);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const client = new Client({
      writer: writable.getWriter(),
      urlOrigin: req.urlOrigin,
      after: req.after,
      deadline: Date.now() + cfg.EVENT_STREAM_MAX_SECONDS * 1000,
      onGone: (c) => this.gone(c),
    });
    client.send(sseRetry(RECONNECT_MS));
    this.clients.add(client);
    this.startTicker(cfg);
    if (this.clients.size === 1 && this.store.state()?.status === "queued") this.watch(true);
    this.deliverSoon();
    return { kind: "stream", body: readable };
  }

  private gone(c: Client): void {
    this.clients.delete(c);
    if (this.clients.size > 0) return;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.watching) this.watch(false);
  }

  private startTicker(cfg: Config): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      const now = Date.now();
      for (const c of [...this.clients]) {
        if (now >= c.deadline) c.end();
        else c.keepAlive();
      }
    }, cfg.EVENT_STREAM_KEEPALIVE_SECONDS * 1000);
  }

  private deliverSoon(): void {
    if (this.clients.size === 0) return;
    this.chain = this.chain.then(
      () => this.deliver(),
      () => this.deliver(),
    );
    this.chain.catch((err) => this.log().error("feed_delivery_failed", describeError(err)));
  }

  /** One pass: every client gets the stored events it has not had yet; a terminal event ends its stream. */
  private async deliver(): Promise<void> {
    const cfg = this.config();
    for (;;) {
      const open = [...this.clients].filter((c) => !c.closed);
      if (open.length === 0) return;
      const from = Math.min(...open.map((c) => c.lastSent));
      const batch = this.store.after(from, BATCH);
      if (batch.length === 0) return;
      for (const ev of batch) {
        const frames = new Map<string, Uint8Array>();
        for (const c of open) {
          if (c.closed || c.lastSent >= ev.id) continue;
          let frame = frames.get(c.urlOrigin);
          if (!frame) {
            const signer: UrlSigner = { origin: c.urlOrigin, ttlSeconds: cfg.OUTPUT_URL_TTL_SECONDS, keys: keysOf(cfg.OUTPUT_URL_KEYS) };
            frame = sseEvent(ev.id, ev.input.type, await presentEvent(this.jobId(), ev.input, signer));
            frames.set(c.urlOrigin, frame);
          }
          c.send(frame);
          c.lastSent = ev.id;
          if (isTerminalType(ev.input.type)) c.end();
        }
      }
      if (batch.length < BATCH) return;
    }
  }

  /**
   * Asks the Dispatcher shard holding the job to publish its queue position while somebody watches
   * (or to stop). The shard is read from D1 each time (rare: watchers come and go), since stealing
   * may have moved the job to another shard since it was submitted.
   */
  private watch(on: boolean): void {
    const s = this.store.state();
    if (!s) return;
    this.watching = on;
    const jobId = this.jobId();
    const work = dispatcherShardOf(createDb(this.env.DB), jobId)
      .then((job) => (job ? dispatcherOfJob(this.env, job).watch(jobId, on) : null))
      .then((info) => {
        if (on && info) {
          this.publish(
            { type: "job.position", position: info.position, estimated_start_seconds: info.estimatedStartSeconds, at: Date.now() },
            { createdAt: 0, pool: s.pool },
          );
        }
      })
      .catch((err) => this.log().warn("feed_watch_failed", { on, ...describeError(err) }));
    this.ctx.waitUntil(work);
  }
}
