/**
 * Dispatcher: one object per GPU pool, or per shard of a pool spread over several (`pool#k`;
 * docs/scale.md). It holds the queue of jobs waiting for a GPU (its tenants'), its registered hosts
 * and the lease of every job dispatched to them, and it is the only place that decides which job
 * runs where. A shard whose free hosts have nothing to run borrows queued jobs from its siblings
 * (lend/steal below), so no GPU idles while another shard has work it could run.
 *
 * Invariants:
 * - A dispatch decision is synchronous (store.ts): no job is handed out twice and no host gets
 *   more than its free slots.
 * - Each dispatch is (job_id, attempt, lease_id). Host callbacks that do not name the current
 *   triple are refused (fencing), so a host that lost its lease can never change the job.
 * - D1 holds the job's public state and every change there is a compare-and-set
 *   (src/jobs/lifecycle.ts); whoever wins a terminal transition releases the tenant's slot.
 * - A lease not renewed (heartbeat or event) sends the job back to the queue (attempt + 1) up to
 *   MAX_ATTEMPTS, then fails it with `host_lost`. Queue timeouts and run deadlines are enforced
 *   here by the alarm, not trusted to hosts.
 * - Nothing is lost if this object restarts: D1 is reconciled periodically, so a job that is live
 *   in D1 (in this pool and shard) but unknown here is queued again.
 * - A job is dispatched only by the shard D1 says holds it (`jobs.dispatcher_shard`), which a lend
 *   moves by compare-and-set before the receiver enqueues it.
 */
import { DurableObject } from "cloudflare:workers";
import { SHARED_MODELS } from "../src/blobs/keys.ts";
import { loadConfig } from "../src/config/load.ts";
import type { Config } from "../src/config/schema.ts";
import { createDb } from "../src/db/client.ts";
import { getJob, moveQueuedJobs, needsOf, staleLiveJobs } from "../src/db/jobs.ts";
import { readyModelsNamed } from "../src/db/models.ts";
import { outputsOf } from "../src/db/outputs.ts";
import type { JobError, JobOutputRow, JobRow, JobTimings } from "../src/db/schema.ts";
import { type JobNeeds, waitingFor } from "../src/dispatch/placement.ts";
import {
  afterLoss,
  cooldownUntil,
  dispatchTerms,
  isLive,
  type LivenessRules,
  lockAccepted,
  queuePosition,
  requeueTerms,
  retriesFailure,
} from "../src/dispatch/policy.ts";
import { dispatcherOf } from "../src/dispatch/route.ts";
import { MAX_DISPATCHER_SHARDS, parseShardName, shardName } from "../src/dispatch/shards.ts";
import type {
  CancelOutcome,
  ClaimRequest,
  DispatcherRpc,
  EnqueueRequest,
  EventOutcome,
  HostRegistration,
  JobInfo,
  LendOffer,
  LentJob,
  PoolCatalog,
  PoolStatus,
  QueueInfo,
  TransferCheck,
  WatchInfo,
} from "../src/dispatch/types.ts";
import type { Env } from "../src/env.ts";
import type { FeedOrigin } from "../src/feed/events.ts";
import { signingKey } from "../src/hosts/edge-keys.ts";
import { backToQueue, end, type LifecycleContext, markDispatchedWithRequest, setProgress, setTimings } from "../src/jobs/lifecycle.ts";
import { type Clock, systemClock, wallTimeOf } from "../src/lib/clock.ts";
import { createLogger, describeError, type Logger } from "../src/lib/log.ts";
import { findPool } from "../src/pools/pools.ts";
import type { CatalogSummary } from "../src/protocol/catalog.ts";
import type { EdgeSigningKey } from "../src/protocol/edge-signing.ts";
import { type DispatchRef, type DispatchRequest, type Heartbeat, type HeartbeatReply, JOB_ERROR_CODES, type JobEvent } from "../src/protocol/messages.ts";
import { hostPaths } from "../src/protocol/paths.ts";
import { publicFailure } from "../src/protocol/public-error.ts";
import { notifyWebhook } from "../src/webhooks/outbox.ts";
import { aheadOf, poolEstimates, seconds } from "./dispatcher/estimates.ts";
import { FeedSender } from "./dispatcher/feed-sender.ts";
import { callHost } from "./dispatcher/host-client.ts";
import { freeOffers, lendNext, loansOf, PlacementCache, placeNext } from "./dispatcher/place.ts";
import { liveCatalogs, poolCatalog, poolStatus } from "./dispatcher/read-model.ts";
import { ReplayStore } from "./dispatcher/replay-store.ts";
import { type AssignmentRow, DispatcherStore, type HostRow, type QueueRow } from "./dispatcher/store.ts";

/** Periodic pass over D1 for live jobs this object does not know (lost enqueue, restart). */
const RECONCILE_EVERY_MS = 60_000;
const TICK_MS = 5_000;
/** How long the pool's own settings (previews on/off) are used before they are read again. */
const POOL_SETTINGS_TTL_MS = 10_000;
/** Most watched jobs whose position is published after each change of the queue. */
const MAX_WATCHED = 1_000;
/** After a steal that found nothing, none for this long (a heartbeat of an idle host must not ask every sibling each time). */
const STEAL_QUIET_MS = 500;
/** Most jobs one lend hands over (a bound on one batch of compare-and-sets). */
const MAX_LEND = 32;

export class Dispatcher extends DurableObject<Env> implements DispatcherRpc {
  private readonly store: DispatcherStore;
  private readonly replays: ReplayStore;
  private readonly pending = new Set<Promise<unknown>>();
  private lastReconcile = 0;
  private shardCache: { pool: string; shard: number } | undefined;
  private readonly placement = new PlacementCache();
  private readonly feeds: FeedSender;
  /** The queue changed since positions were last published to watched jobs' feeds. */
  private positionsDirty = false;
  private previewsSetting: { on: boolean; until: number } | undefined;
  /** How many shards the pool has, as last told (memory of the `meta` row; undefined: not read yet). */
  private shardCount: number | undefined;
  /** A steal is in flight (at most one), or none before `stealQuietUntil` (the last found nothing). */
  private stealing = false;
  private stealQuietUntil = 0;
  /** Jobs this shard dequeued to lend and whose move in D1 is not settled: reconciliation leaves them alone. */
  private readonly lending = new Set<string>();
  /** Where every decision reads the time; tests move it (test/support/clock.ts). */
  clock: Clock = systemClock;
  /** When the alarm is set (wall time; null: none), as this object last set or read it; undefined: not known. */
  private alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new DispatcherStore(ctx.storage.sql);
    this.replays = new ReplayStore(ctx.storage.sql);
    this.feeds = new FeedSender(env, () => this.log());
  }

  /**
   * The pool shard this object is: the name it was addressed by (`DISPATCHER.getByName(pool)`, or
   * `pool#k` for shard k > 0; src/dispatch/shards.ts), stored on first use so alarms, which carry
   * no name, know it too, and checked on every call so one pool's (or shard's) object can never be
   * made to serve another's jobs.
   */
  private shard(): { pool: string; shard: number } {
    const addressed = this.ctx.id.name;
    const stored = this.shardCache ? shardName(this.shardCache.pool, this.shardCache.shard) : this.store.poolName();
    if (addressed !== undefined && stored !== undefined && addressed !== stored) {
      throw new Error(`this Dispatcher serves pool "${stored}", not "${addressed}"`);
    }
    if (this.shardCache) return this.shardCache;
    const name = stored ?? addressed;
    if (name === undefined) throw new Error("this Dispatcher was never addressed by a pool name");
    const parsed = parseShardName(name);
    if (!parsed) throw new Error(`"${name}" names no pool's Dispatcher shard`);
    if (stored === undefined) this.store.setPoolName(name);
    this.shardCache = parsed;
    return parsed;
  }

  /** The pool this object is (a shard of). */
  private pool(): string {
    return this.shard().pool;
  }

  private config(): Config {
    const result = loadConfig(this.env);
    if (!result.ok) throw new Error(`misconfigured: ${result.problems.join("; ")}`);
    return result.config;
  }

  /** What a terminal change needs for its follow-up work (slot release, webhook). */
  private lifecycle(): LifecycleContext {
    return { env: this.env, db: createDb(this.env.DB), log: this.log() };
  }

  private log(): Logger {
    return createLogger(this.config().LOG_LEVEL, { component: "dispatcher" });
  }

  /** EDGE_SIGNING_KEY: the current key signs; the next and previous are only published. */
  private signingKey(): EdgeSigningKey {
    return signingKey(this.config());
  }

  /** Runs async work after the RPC answers, keeping failures in the log. */
  private background(work: Promise<unknown>): void {
    const p = work.catch((err) => this.log().error("dispatcher_task_failed", describeError(err)));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  // ===== Hosts (admin)

  registerHost(host: HostRegistration): void {
    this.pool();
    this.store.upsertHost(host.id, host.url, host.slots);
    this.schedule();
  }

  setDraining(hostId: string, draining: boolean): boolean {
    this.pool();
    const changed = this.store.setDraining(hostId, draining);
    if (!draining) this.pump();
    return changed;
  }

  /** Forgets a host; jobs still on it go back to the queue now rather than at lease expiry. */
  async removeHost(hostId: string): Promise<number> {
    this.pool();
    const jobs = this.store.assignmentsOf(hostId);
    this.store.removeHost(hostId);
    for (const a of jobs) await this.lost(a, "host removed");
    this.pump();
    return jobs.length;
  }

  /**
   * Called by the cron: re-arms the alarm (queue, leases, reconciliation) if it was lost. An idle
   * pool (no hosts, nothing queued) gets a reconciliation alarm too, so a job whose enqueue was lost
   * in a pool without hosts is still adopted (and times out) rather than forgotten.
   */
  keepTicking(shards?: number): void {
    this.pool();
    this.learnShards(shards);
    // Read the alarm from storage again: this is the pass that repairs a lost one.
    this.alarmAt = undefined;
    this.schedule(true);
  }

  poolSettingsChanged(shards?: number): void {
    this.pool();
    this.learnShards(shards);
    this.previewsSetting = undefined;
  }

  /**
   * The pool's shard count, which only stealing needs: told by the Worker (a change of the pool,
   * and the cron every run, which repairs a lost one) and kept in storage, so no dispatch reads it
   * and a pool of one shard never asks anything.
   */
  private learnShards(shards: number | undefined): void {
    if (shards === undefined || !Number.isInteger(shards) || shards < 1 || shards > MAX_DISPATCHER_SHARDS) return;
    if (shards === this.shards()) return;
    this.store.setShardCount(shards);
    this.shardCount = shards;
    // More shards: a steal may find work at once.
    this.stealQuietUntil = 0;
  }

  private shards(): number {
    this.shardCount ??= this.store.shardCount() ?? 1;
    return this.shardCount;
  }

  status(): PoolStatus {
    this.pool();
    return poolStatus(this.store, this.clock.now(), this.config());
  }

  // ===== Jobs (edge routes)

  /** Queues a job (idempotent) and returns where it stands (null: dispatched at once). */
  enqueue(job: EnqueueRequest): QueueInfo | null {
    this.pool();
    this.store.enqueue({
      job_id: job.jobId,
      tenant_id: job.tenantId,
      user_id: job.userId,
      enqueued_at: job.enqueuedAt,
      queue_deadline_at: job.queueDeadlineAt,
      attempts: 0,
      needs_id: this.store.needsId(needsDoc(job.needs)),
    });
    this.positionsDirty = true;
    this.pump();
    return this.queueInfo([job.jobId])[0] ?? null;
  }

  /** The user cancelled a job already marked cancelled (queued) or cancel-requested (running) in D1. */
  cancel(jobId: string): CancelOutcome {
    this.pool();
    if (this.store.dequeue(jobId)) {
      this.positionsDirty = true;
      this.notePositions();
      this.schedule();
      return "dequeued";
    }
    const a = this.store.requestCancel(jobId);
    if (!a) return "unknown";
    this.background(this.sendCancel(a, "user"));
    return "requested";
  }

  queueInfo(jobIds: string[]): (QueueInfo | null)[] {
    this.pool();
    const cfg = this.config();
    const now = this.clock.now();
    const lines = this.store.tenantLines();
    // The hosts a job could start on once a slot frees: live, ComfyUI ready, not draining, lock as expected.
    const up = this.store
      .hosts()
      .filter((h) => isLive(h, { now, heartbeatTimeoutMs: cfg.HOST_HEARTBEAT_TIMEOUT_SECONDS * 1000 }) && h.comfy === "ready" && !h.draining)
      .filter((h) => lockAccepted(h, cfg.EXPECTED_LOCK_HASH));
    const offers = up.map((h) => this.placement.offerOf(this.store, h));
    const positions = jobIds.map((id) => this.position(id, lines));
    const deepest = Math.max(-1, ...positions.map((p) => p ?? -1));
    const estimates = deepest >= 0 ? poolEstimates(this.store, this.placement, this.rules(cfg, now), deepest + 1) : undefined;
    return jobIds.map((id, i) => {
      const job = this.store.queued(id);
      const position = positions[i] ?? null;
      if (!job || position === null) return null;
      const est = estimates?.queued[position];
      const times = { estimatedStartSeconds: seconds(est?.startMs), estimatedFinishSeconds: seconds(est?.finishMs) };
      if (up.length === 0) return { position, ...times, waitingFor: { reason: "no-live-host" } };
      const missing = waitingFor(this.placement.needsOf(this.store, job.needs_id), offers);
      if (missing) return { position, estimatedStartSeconds: null, estimatedFinishSeconds: null, waitingFor: { reason: "missing-on-every-host", ...missing } };
      return { position, ...times, waitingFor: null };
    });
  }

  jobInfo(jobIds: string[]): (JobInfo | null)[] {
    this.pool();
    const cfg = this.config();
    const now = this.clock.now();
    const queued = this.queueInfo(jobIds);
    const running = jobIds.map((id) => this.store.assignment(id));
    const estimates = running.some((a) => a !== undefined) ? poolEstimates(this.store, this.placement, this.rules(cfg, now), 0) : undefined;
    return jobIds.map((id, i) => {
      const q = queued[i];
      if (q) return { status: "queued", ...q };
      const a = running[i];
      if (!a) return null;
      const tail = this.store.mean("tail_ms");
      const ms = a.gpu_released ? tail : estimates?.finishOf(id);
      return { status: "running", estimatedFinishSeconds: seconds(ms) };
    });
  }

  watch(jobId: string, on: boolean): WatchInfo | null {
    this.pool();
    if (!on) {
      this.store.unwatch(jobId);
      return null;
    }
    const position = this.position(jobId);
    if (position === null) return null;
    this.store.watch(jobId);
    this.store.setWatchedPosition(jobId, position);
    const [info] = this.queueInfo([jobId]);
    return { position, estimatedStartSeconds: info?.estimatedStartSeconds ?? null };
  }

  private rules(cfg: Config, now: number) {
    return { now, heartbeatTimeoutMs: cfg.HOST_HEARTBEAT_TIMEOUT_SECONDS * 1000, expectedLockHash: cfg.EXPECTED_LOCK_HASH };
  }

  /** Publishes a new position to every watched job whose position changed since the queue last did. */
  private notePositions(): void {
    if (!this.positionsDirty) return;
    this.positionsDirty = false;
    const watched = this.store.watched(MAX_WATCHED);
    if (watched.length === 0) return;
    const now = this.clock.now();
    const lines = this.store.tenantLines();
    const moved: { jobId: string; position: number; origin: FeedOrigin }[] = [];
    for (const w of watched) {
      const job = this.store.queued(w.job_id);
      const position = job ? this.position(w.job_id, lines) : null;
      if (!job || position === null) {
        this.store.unwatch(w.job_id);
        continue;
      }
      if (position === w.position) continue;
      this.store.setWatchedPosition(w.job_id, position);
      moved.push({ jobId: w.job_id, position, origin: { createdAt: job.enqueued_at, pool: this.pool() } });
    }
    if (moved.length === 0) return;
    const deepest = Math.max(...moved.map((m) => m.position));
    const estimates = poolEstimates(this.store, this.placement, this.rules(this.config(), now), deepest + 1);
    for (const m of moved) {
      const start = seconds(estimates?.queued[m.position]?.startMs);
      this.background(this.feeds.send(m.jobId, { type: "job.position", position: m.position, estimated_start_seconds: start, at: now }, m.origin));
    }
  }

  private position(jobId: string, lines = this.store.tenantLines()): number | null {
    const job = this.store.queued(jobId);
    const own = job && lines.find((l) => l.tenantId === job.tenant_id);
    return own ? queuePosition(own, this.store.earlierInLine(job), lines) : null;
  }

  // ===== Host messages (verified by the Worker before they get here)

  /** Replay protection for signed host messages: false if this message id was already seen. */
  claimMessage(messageId: string, ttlMs: number): boolean {
    this.pool();
    const now = this.clock.now();
    return this.replays.claim(messageId, now + ttlMs, now);
  }

  heartbeat(host: HostRegistration & { draining: boolean }, hb: Heartbeat, claim?: ClaimRequest | null): HeartbeatReply | "replayed" {
    this.pool();
    if (claim && !this.claimMessage(claim.id, claim.ttlMs)) return "replayed";
    const cfg = this.config();
    const now = this.clock.now();
    if (!this.store.host(host.id)) {
      // This object lost its host table (new instance, storage reset): D1's registration rules.
      this.store.upsertHost(host.id, host.url, host.slots);
      if (host.draining) this.store.setDraining(host.id, true);
    }
    this.store.recordHeartbeat(host.id, {
      at: now,
      capacity: hb.capacity,
      draining: hb.draining,
      comfy: hb.comfy,
      lockHash: hb.lock_hash,
      version: hb.version,
    });
    this.store.recordCatalogState(host.id, hb.catalog_hash, hb.resident_models);
    this.store.recordEdgeKids(host.id, hb.edge_kids);
    const reply: HeartbeatReply = { renewed: [], cancel: [], revoked: [] };
    if (hb.catalog_hash !== undefined && !this.store.hasCatalog(hb.catalog_hash)) reply.catalog_wanted = true;
    const reported = new Set<string>();
    for (const j of hb.jobs) {
      reported.add(j.job_id);
      const ref = { job_id: j.job_id, attempt: j.attempt, lease_id: j.lease_id };
      const a = this.store.current(ref, host.id);
      if (!a) {
        reply.revoked.push(ref);
        continue;
      }
      const until = now + cfg.LEASE_TTL_SECONDS * 1000;
      this.store.renew(a.job_id, a.attempt, until);
      reply.renewed.push({ ...ref, lease_expires_at: until });
      if (a.cancel_requested) reply.cancel.push(ref);
      if (j.state === "uploading") this.releaseGpu(a, now);
    }
    // A job this host accepted well before the heartbeat was sent but no longer reports was lost
    // (the gpu-backend restarted): requeue it now instead of waiting for its lease.
    for (const a of this.store.assignmentsOf(host.id)) {
      if (!reported.has(a.job_id) && a.accepted && a.dispatched_at < hb.sent_at - 2_000) this.background(this.lost(a, "host no longer has it"));
    }
    this.pump();
    return reply;
  }

  async jobEvent(hostId: string, ev: JobEvent, claim?: ClaimRequest | null): Promise<EventOutcome> {
    const receivedAt = Date.now();
    this.pool();
    if (claim && !this.claimMessage(claim.id, claim.ttlMs)) return "replayed";
    const cfg = this.config();
    const a = this.store.current(ev, hostId);
    if (!a) return "stale";
    const db = createDb(this.env.DB);
    let outputs: JobOutputRow[] | undefined;
    if (ev.type === "job.succeeded") {
      // Outputs are uploaded before success is reported: check they all arrived for this attempt.
      outputs = await outputsOf(db, ev.job_id, ev.attempt);
      const stored = new Map(outputs.map((o) => [o.name, o]));
      const missing = ev.outputs.filter((o) => stored.get(o.name)?.sha256 !== o.sha256);
      if (missing.length > 0) return "missing_outputs";
      if (!this.store.current(ev, hostId)) return "stale";
    }
    if (!this.store.advanceSeq(ev.job_id, ev.attempt, ev.seq)) return "duplicate";
    const now = this.clock.now();
    this.store.renew(ev.job_id, ev.attempt, now + cfg.LEASE_TTL_SECONDS * 1000);

    switch (ev.type) {
      case "job.started": {
        const t = {
          ...(ev.model_fetch_ms !== undefined ? { model_fetch_ms: ev.model_fetch_ms } : {}),
          ...(ev.input_fetch_ms !== undefined ? { input_fetch_ms: ev.input_fetch_ms } : {}),
        };
        if (Object.keys(t).length > 0) await setTimings(db, ev.job_id, ev.attempt, t, now);
        break;
      }
      case "job.executed":
        // How long ComfyUI held the GPU, as the host measured it: what estimates count on. Taken
        // even when a heartbeat released the GPU first (the time since dispatch would also count
        // the job's wait behind others on the host).
        if (ev.execution_ms !== undefined) this.store.recordMean("service_ms", ev.execution_ms);
        // ComfyUI is done with it; only the upload remains: hand the GPU its next job now.
        if (this.releaseGpu(a, now, ev.execution_ms === undefined)) this.pump();
        if (ev.execution_ms !== undefined) await setTimings(db, ev.job_id, ev.attempt, { execution_ms: ev.execution_ms }, now);
        break;
      case "job.progress": {
        const progress = this.cleanProgress(a, ev.progress);
        // The feed and D1 in parallel; both before the answer, so what the host sends next
        // (an output) reaches the feed after this.
        await Promise.all([
          this.feeds.send(ev.job_id, { type: "job.progress", attempt: ev.attempt, ...progress, at: now }, { createdAt: a.enqueued_at, pool: this.pool() }),
          setProgress(db, ev.job_id, ev.attempt, progress, now),
        ]);
        break;
      }
      case "job.succeeded": {
        if (ev.upload_ms !== undefined) this.store.recordMean("tail_ms", ev.upload_ms);
        // No job.executed came (the outputs were up first): the success carries what it would have.
        if (ev.execution_ms !== undefined && !a.gpu_released) this.store.recordMean("service_ms", ev.execution_ms);
        const timings = {
          ...hostTimings(ev),
          ...(ev.upload_ms !== undefined ? { upload_ms: ev.upload_ms } : {}),
          ...(ev.execution_ms !== undefined ? { execution_ms: ev.execution_ms } : {}),
        };
        await this.end(ev, "succeeded", undefined, Object.keys(timings).length > 0 ? timings : undefined, outputs);
        break;
      }
      case "job.failed": {
        const retryable = JOB_ERROR_CODES[ev.error.code].retryable;
        const a2 = this.store.assignment(ev.job_id) ?? a;
        if (retriesFailure(a2, retryable, cfg.MAX_ATTEMPTS)) {
          await this.requeue(a2, "retry", `host reported ${ev.error.code}`);
        } else {
          // Hosts are the least trusted tier: what a tenant reads of the error is cleaned here too.
          const hostUrl = this.store.host(ev.host_id)?.url;
          const clean = publicFailure(ev.error, { hostNames: [ev.host_id, ...(hostUrl ? [hostnameOf(hostUrl)] : [])] });
          const timings = hostTimings(ev);
          await this.end(
            ev,
            "failed",
            { code: clean.code, message: clean.message, ...(clean.details !== undefined ? { details: clean.details } : {}) },
            Object.keys(timings).length > 0 ? timings : undefined,
          );
        }
        break;
      }
      case "job.cancelled":
        await this.end(ev, "cancelled");
        break;
    }
    // No pump here: whatever freed a slot above (end, requeue, the GPU's release) pumped already.
    if (ev.type === "job.succeeded" || ev.type === "job.failed" || ev.type === "job.cancelled") {
      // The whole attempt in one line: what the host measured (src/protocol HostSpans) and how long
      // the edge took to apply its end (`apply`: outputs check, D1, quota, feed).
      this.log().info("job_reported", {
        job_id: ev.job_id,
        attempt: ev.attempt,
        host_id: hostId,
        type: ev.type,
        host: ev.spans ?? {},
        apply_ms: Date.now() - receivedAt,
      });
    }
    return "applied";
  }

  /**
   * ComfyUI is done with the job: its GPU slot is free. `measure`: for a host that does not report
   * execution_ms, the time since dispatch stands in for it in the estimates.
   */
  private releaseGpu(a: AssignmentRow, now: number, measure = false): boolean {
    if (!this.store.releaseGpu(a.job_id, a.attempt)) return false;
    if (measure) this.store.recordMean("service_ms", now - a.dispatched_at);
    return true;
  }

  /**
   * What the host said of a job's progress, as the edge keeps it: node_type only when it is a
   * class the job's workflow has (hosts are the least trusted tier), percent within 0-100.
   */
  private cleanProgress(a: AssignmentRow, p: Extract<JobEvent, { type: "job.progress" }>["progress"]) {
    const classes = this.placement.needsOf(this.store, a.needs_id).classes;
    const nodeType = p.node_type && classes.includes(p.node_type) ? p.node_type : null;
    return { value: p.value, max: p.max, node: p.node, node_type: nodeType, percent: p.percent ?? null };
  }

  /**
   * For input downloads, output and preview uploads: is this still the host's current dispatch of
   * the job? Answers once what this object queued for the job's feed so far (its `job.running`,
   * progress) was handed over, so the output the Worker publishes next comes after them: that is
   * what lets a dispatch call its host without waiting for `job.running` to be published.
   */
  async checkTransfer(hostId: string, ref: DispatchRef, claim?: ClaimRequest | null): Promise<TransferCheck> {
    this.pool();
    if (claim && !this.claimMessage(claim.id, claim.ttlMs)) return { ok: false, replayed: true };
    const a = this.store.current(ref, hostId);
    if (!a) return { ok: false };
    this.store.renew(a.job_id, a.attempt, this.clock.now() + this.config().LEASE_TTL_SECONDS * 1000);
    await this.feeds.idle(a.job_id);
    return { ok: true, tenantId: a.tenant_id, createdAt: a.enqueued_at, previews: a.previews === 1 };
  }

  // ===== Catalogs (issue 13.2; the Worker verified the hash and stored the document by it)

  setCatalog(host: HostRegistration & { draining: boolean }, hash: string, summary: CatalogSummary): { known: boolean } {
    this.pool();
    if (!this.store.host(host.id)) {
      this.store.upsertHost(host.id, host.url, host.slots);
      if (host.draining) this.store.setDraining(host.id, true);
    }
    const known = this.store.hasCatalog(hash);
    this.store.setCatalog(host.id, hash, JSON.stringify(summary));
    return { known };
  }

  hasCatalog(hash: string): boolean {
    this.pool();
    return this.store.hasCatalog(hash);
  }

  poolCatalog(): PoolCatalog {
    this.pool();
    return poolCatalog(this.store, this.clock.now(), this.config());
  }

  /** Seconds until a job with these needs would likely start (null: no live host can run it, or no history). */
  estimateStart(needs: JobNeeds): number | null {
    this.pool();
    const rules = this.rules(this.config(), this.clock.now());
    const ahead = aheadOf(this.store, this.placement, rules, needs);
    return seconds(poolEstimates(this.store, this.placement, rules, ahead + 1, needs)?.queued[ahead]?.startMs);
  }

  /** Every catalog hash this pool still refers to (any registered host's, and every kept summary). */
  catalogHashesInUse(): string[] {
    this.pool();
    return this.store.catalogHashesInUse();
  }

  liveCatalogs(): PoolCatalog["hosts"] {
    this.pool();
    return liveCatalogs(this.store, this.clock.now(), this.config());
  }

  // ===== Dispatch

  /**
   * Hands queued jobs to hosts with free slots until none is free or no free host can run what is
   * queued: fairly among the jobs a free host can run, preferring warm hosts (place.ts).
   */
  private pump(): void {
    const cfg = this.config();
    const now = this.clock.now();
    const rules = { now, heartbeatTimeoutMs: cfg.HOST_HEARTBEAT_TIMEOUT_SECONDS * 1000, expectedLockHash: cfg.EXPECTED_LOCK_HASH };
    let runnableLeft = true;
    for (let i = 0; i < 256; i++) {
      const placed = placeNext(this.store, this.placement, rules, cfg.MODEL_AFFINITY_MAX_PASS_OVERS);
      if (!placed) {
        runnableLeft = false;
        break;
      }
      const { job, host } = placed;
      const a: AssignmentRow = {
        job_id: job.job_id,
        tenant_id: job.tenant_id,
        user_id: job.user_id,
        host_id: host.id,
        attempt: job.attempts + 1,
        lease_id: crypto.randomUUID(),
        ...dispatchTerms(now, { leaseTtlMs: cfg.LEASE_TTL_SECONDS * 1000, jobTimeoutMs: cfg.JOB_TIMEOUT_SECONDS * 1000 }),
        dispatched_at: now,
        accepted: 0,
        cancel_requested: 0,
        last_seq: -1,
        enqueued_at: job.enqueued_at,
        queue_deadline_at: job.queue_deadline_at,
        gpu_released: 0,
        needs_id: job.needs_id,
        previews: 0,
      };
      if (placed.passedOver) this.store.passOver(placed.passedOver);
      this.store.dequeue(job.job_id);
      this.store.assign(a);
      this.store.setRecentModels(host.id, placed.needs.models);
      this.store.takeTurn(job.tenant_id);
      this.positionsDirty = true;
      this.background(this.dispatch(a, host, cfg));
    }
    this.notePositions();
    this.schedule();
    if (!runnableLeft) this.maybeSteal(rules);
  }

  // ===== Stealing between the shards of a pool (docs/scale.md)

  /**
   * Free hosts and nothing here they can run: ask the sibling shards for work. At most one steal in
   * flight, none for STEAL_QUIET_MS after one that found nothing, and none in a pool of one shard.
   */
  private maybeSteal(rules: LivenessRules): void {
    const now = this.clock.now();
    if (this.shards() <= 1 || this.stealing || now < this.stealQuietUntil) return;
    if (freeOffers(this.store, this.placement, rules).length === 0) return;
    this.stealing = true;
    this.background(this.steal());
  }

  private async steal(): Promise<void> {
    const { pool, shard } = this.shard();
    let got = 0;
    try {
      const shards = this.shards();
      for (let i = 1; i < shards; i++) {
        // What is still free after the last round's jobs were placed.
        const offers = freeOffers(this.store, this.placement, this.rules(this.config(), this.clock.now()));
        const free = offers.reduce((n, o) => n + o.free, 0);
        if (free === 0) break;
        const from = (shard + i) % shards;
        let lent: LentJob[];
        try {
          lent = await dispatcherOf(this.env, pool, from).lend(shard, offers, free);
        } catch (err) {
          this.log().warn("steal_failed", { pool, shard, from, ...describeError(err) });
          continue;
        }
        if (lent.length === 0) continue;
        for (const j of lent) this.enqueueLent(j);
        got += lent.length;
        this.log().info("jobs_stolen", { pool, shard, from, jobs: lent.length });
        this.positionsDirty = true;
        this.pump();
      }
    } finally {
      this.stealing = false;
      if (got === 0) this.stealQuietUntil = this.clock.now() + STEAL_QUIET_MS;
    }
    // Hosts may still be free and siblings still have work: go on at once.
    if (got > 0) this.pump();
  }

  private enqueueLent(j: LentJob): void {
    this.store.enqueue({
      job_id: j.jobId,
      tenant_id: j.tenantId,
      user_id: j.userId,
      enqueued_at: j.enqueuedAt,
      queue_deadline_at: j.queueDeadlineAt,
      attempts: j.attempts,
      needs_id: this.store.needsId(j.needs ?? undefined),
    });
    if (j.watched) this.store.watch(j.jobId);
  }

  /**
   * A sibling shard's free hosts have nothing to run (its steal): hands it up to `max` of this
   * shard's fair-next queued jobs one of `offers` can run. They leave this queue at once (nothing
   * here can dispatch them meanwhile), then move in D1 by compare-and-set; a job cancelled in
   * between does not move and is dropped. If the move cannot be written they come back here (and
   * should it have committed all the same, this shard's dispatch of them fails, since D1 names the
   * receiver, whose reconciliation adopts them).
   */
  async lend(to: number, offers: LendOffer[], max: number): Promise<LentJob[]> {
    const { pool, shard } = this.shard();
    if (!Number.isInteger(to) || to < 0 || to >= MAX_DISPATCHER_SHARDS || to === shard) return [];
    const loans = loansOf(offers);
    const picked: { row: QueueRow; needs: string | null; watched: boolean }[] = [];
    const limit = Math.min(MAX_LEND, Math.max(0, Math.floor(max)));
    while (picked.length < limit) {
      const next = lendNext(this.store, this.placement, loans);
      if (!next) break;
      next.loan.free -= 1;
      const row = next.job;
      picked.push({ row, needs: this.store.needsDoc(row.needs_id) ?? null, watched: this.store.isWatched(row.job_id) });
      this.store.dequeue(row.job_id);
      this.store.takeTurn(row.tenant_id);
      this.lending.add(row.job_id);
    }
    if (picked.length === 0) return [];
    this.positionsDirty = true;
    this.notePositions();
    const ids = picked.map((p) => p.row.job_id);
    let moved: Set<string>;
    try {
      moved = await moveQueuedJobs(createDb(this.env.DB), ids, pool, shard, to);
    } catch (err) {
      this.log().warn("lend_failed", { pool, shard, to, ...describeError(err) });
      for (const p of picked) {
        this.store.enqueue({ ...p.row, needs_id: this.store.needsId(p.needs ?? undefined) });
        if (p.watched) this.store.watch(p.row.job_id);
      }
      this.positionsDirty = true;
      this.pump();
      return [];
    } finally {
      for (const id of ids) this.lending.delete(id);
    }
    this.schedule();
    return picked
      .filter((p) => moved.has(p.row.job_id))
      .map((p) => ({
        jobId: p.row.job_id,
        tenantId: p.row.tenant_id,
        userId: p.row.user_id,
        enqueuedAt: p.row.enqueued_at,
        queueDeadlineAt: p.row.queue_deadline_at,
        attempts: p.row.attempts,
        needs: p.needs,
        watched: p.watched,
      }));
  }

  private async dispatch(a: AssignmentRow, host: HostRow, cfg: Config): Promise<void> {
    const log = this.log();
    const db = createDb(this.env.DB);
    const now = this.clock.now();
    // Where a dispatch's time goes (job_dispatched): real time, whatever clock the object runs on.
    const startedAt = Date.now();
    // The reads go in parallel with the compare-and-set; they are only used if it wins.
    const needs = this.placement.needsOf(this.store, a.needs_id);
    const [{ row, workflow, inputs }, models, previews] = await Promise.all([
      markDispatchedWithRequest(db, a.job_id, a.attempt, a.host_id, now, this.shard().shard),
      // The registered files it names: the host fetches those it lacks (src/models).
      readyModelsNamed(db, SHARED_MODELS, needs.models).then((shared) => [...shared, ...(needs.privateModels ?? [])]),
      this.previewsOn(db, cfg),
    ]);
    if (!row) {
      // Cancelled (or otherwise ended) while it waited, or D1 says another shard holds it: nothing to run.
      this.store.unassign(a.job_id, a.attempt);
      this.pump();
      return;
    }
    // job.running was recorded with the status change; its delivery runs elsewhere, off this path.
    this.background(notifyWebhook(this.env, row, log));
    if (previews) this.store.setPreviews(a.job_id, a.attempt, true);
    const readAt = Date.now();
    // Queued first on the job's feed chain, not awaited: what the host reports next reaches the
    // feed after it all the same (progress rides the chain, outputs wait for it in checkTransfer,
    // the end waits for it in end()), and the host is not kept waiting for the publish.
    this.background(this.feeds.send(a.job_id, { type: "job.running", attempt: a.attempt, at: now }, { createdAt: row.createdAt, pool: row.pool }));
    const request: DispatchRequest = {
      job_id: a.job_id,
      attempt: a.attempt,
      lease_id: a.lease_id,
      tenant_id: a.tenant_id,
      workflow: workflow ?? {},
      inputs: inputs.map((i) => ({
        id: i.id,
        node_id: i.nodeId,
        input_name: i.inputName,
        filename: i.filename,
        content_type: i.contentType,
        size: i.size,
        sha256: i.sha256,
      })),
      models,
      ...(previews ? { preview: { min_interval_ms: cfg.PREVIEW_MIN_INTERVAL_MS, max_bytes: cfg.PREVIEW_MAX_BYTES } } : {}),
      deadline_ms: cfg.JOB_TIMEOUT_SECONDS * 1000,
      lease_ttl_ms: cfg.LEASE_TTL_SECONDS * 1000,
    };
    const result = await callHost(this.signingKey(), host, "POST", hostPaths.dispatch, request);
    if (result.ok) {
      this.store.markAccepted(a.job_id, a.attempt);
      const spans = { wrote: readAt - startedAt, host: Date.now() - readAt };
      log.info("job_dispatched", { job_id: a.job_id, host_id: a.host_id, attempt: a.attempt, queued_ms: startedAt - a.enqueued_at, spans });
      if (this.store.assignment(a.job_id)?.cancel_requested) await this.sendCancel(a, "user");
      return;
    }
    // Not accepted: the attempt did not happen. Put the job back at the head of its tenant's line.
    log.warn("dispatch_refused", { job_id: a.job_id, host_id: a.host_id, kind: result.kind, status: result.status, detail: result.detail });
    this.store.markUnavailable(a.host_id, cooldownUntil(this.clock.now(), result.kind));
    await this.requeue(a, "not-taken", `host ${result.kind}`);
  }

  /** Whether the pool forwards sampler previews (its `previews` setting; read at most every POOL_SETTINGS_TTL_MS). */
  private async previewsOn(db: ReturnType<typeof createDb>, cfg: Config): Promise<boolean> {
    const now = this.clock.now();
    if (this.previewsSetting && this.previewsSetting.until > now) return this.previewsSetting.on;
    try {
      const on = (await findPool(db, cfg, this.pool()))?.previews ?? false;
      this.previewsSetting = { on, until: now + POOL_SETTINGS_TTL_MS };
      return on;
    } catch (err) {
      this.log().warn("pool_settings_unavailable", describeError(err));
      return this.previewsSetting?.on ?? false;
    }
  }

  private async sendCancel(a: AssignmentRow, reason: "user" | "timeout" | "lease_revoked"): Promise<void> {
    const host = this.store.host(a.host_id);
    if (!host) return;
    const result = await callHost(this.signingKey(), host, "POST", hostPaths.cancel(a.job_id), {
      job_id: a.job_id,
      attempt: a.attempt,
      lease_id: a.lease_id,
      reason,
    });
    if (!result.ok) this.log().warn("cancel_not_delivered", { job_id: a.job_id, host_id: a.host_id, kind: result.kind, detail: result.detail });
  }

  /**
   * The one way a dispatched job goes back to the queue, at the head of its tenant's line (it
   * keeps its enqueued_at); requeueTerms() says what `retry` and `not-taken` change.
   */
  private async requeue(a: AssignmentRow, how: "retry" | "not-taken", why: string): Promise<void> {
    const now = this.clock.now();
    if (!this.store.unassign(a.job_id, a.attempt)) return;
    const row = await backToQueue(createDb(this.env.DB), a.job_id, a.attempt, how, now);
    if (row) {
      this.store.enqueue({
        job_id: a.job_id,
        tenant_id: a.tenant_id,
        user_id: a.user_id,
        enqueued_at: a.enqueued_at,
        ...requeueTerms(a, how, now, this.config().QUEUED_TIMEOUT_SECONDS * 1000),
        needs_id: a.needs_id,
      });
      this.positionsDirty = true;
      this.background(
        this.feeds.send(a.job_id, { type: "job.queued", attempt: row.attempt, reason: "retry", at: now }, { createdAt: row.createdAt, pool: row.pool }),
      );
      if (how === "retry") this.log().warn("job_requeued", { job_id: a.job_id, attempt: a.attempt, host_id: a.host_id, why });
    }
    this.pump();
  }

  /** The host lost the job (lease expired, host gone): cancel it, retry it or fail it. */
  private async lost(a: AssignmentRow, why: string): Promise<void> {
    const cfg = this.config();
    if (this.store.host(a.host_id)) this.background(this.sendCancel(a, "lease_revoked"));
    const next = afterLoss(a, cfg.MAX_ATTEMPTS);
    if (next === "cancelled") await this.end(a, "cancelled");
    else if (next === "retry") await this.requeue(a, "retry", why);
    else await this.end(a, "failed", { code: "host_lost", message: `The GPU host stopped answering (${why}) on all ${a.attempt} attempts.` });
  }

  /**
   * Ends a dispatched job with a terminal state: its slot is freed and refilled first (the next
   * dispatch overlaps the D1 writes), then the compare-and-set and, if it won, its effects.
   * False when the assignment was already gone (someone else ended or moved it).
   */
  private async end(
    ref: { job_id: string; attempt: number },
    to: "succeeded" | "failed" | "cancelled",
    error?: JobError,
    timings?: JobTimings,
    outputs?: JobOutputRow[],
  ): Promise<boolean> {
    if (!this.store.unassign(ref.job_id, ref.attempt)) return false;
    this.pump();
    // What this object sent the job's feed goes first: the terminal event is the feed's last.
    await this.feeds.idle(ref.job_id);
    await end(this.lifecycle(), ref.job_id, to, {
      now: this.clock.now(),
      from: ["running"],
      attempt: ref.attempt,
      ...(error ? { error } : {}),
      ...(timings ? { timings } : {}),
      ...(outputs ? { outputs } : {}),
    });
    return true;
  }

  // ===== Time

  override async alarm(): Promise<void> {
    // This alarm has fired: until schedule() sets the next one, the time is not known.
    this.alarmAt = undefined;
    const cfg = this.config();
    const now = this.clock.now();
    const db = createDb(this.env.DB);
    for (const q of this.store.queueTimedOut(now)) {
      this.store.dequeue(q.job_id);
      // The deadline was set at submit from the pool's queue_timeout_seconds or QUEUED_TIMEOUT_SECONDS.
      const waited = Math.max(0, Math.round((q.queue_deadline_at - q.enqueued_at) / 1000));
      const error = { code: "queue_timeout", message: `No GPU host picked the job up within ${waited} s.` };
      this.positionsDirty = true;
      await this.feeds.idle(q.job_id);
      await end(this.lifecycle(), q.job_id, "failed", { now, from: ["queued"], error });
    }
    for (const a of this.store.pastDeadline(now)) {
      const ended = await this.end(a, "failed", { code: "timeout", message: `The job ran longer than ${cfg.JOB_TIMEOUT_SECONDS} s.` });
      if (ended) this.background(this.sendCancel(a, "timeout"));
    }
    for (const a of this.store.expiredLeases(now)) await this.lost(a, "lease expired");
    if (now - this.lastReconcile >= RECONCILE_EVERY_MS) {
      this.lastReconcile = now;
      this.store.dropUnusedNeeds();
      this.placement.forgetNeeds();
      await this.reconcile(db, now, cfg);
    }
    this.pump();
  }

  /** Live jobs in D1 that this object does not track (an enqueue that never arrived, a restart). */
  private async reconcile(db: ReturnType<typeof createDb>, now: number, cfg: Config): Promise<void> {
    const { pool, shard } = this.shard();
    const stale = await staleLiveJobs(db, pool, shard, now - RECONCILE_EVERY_MS, 200);
    const known = (id: string) => this.store.queued(id) !== undefined || this.store.assignment(id) !== undefined || this.lending.has(id);
    for (const job of stale) {
      if (known(job.id)) continue;
      const fresh = await getJob(db, job.id);
      if (!fresh || (fresh.status !== "queued" && fresh.status !== "running") || fresh.dispatcherShard !== shard) continue;
      if (known(job.id)) continue;
      await this.adopt(fresh, now, cfg);
    }
  }

  private async adopt(job: JobRow, now: number, cfg: Config): Promise<void> {
    const db = createDb(this.env.DB);
    if (job.status === "running") {
      if (job.cancelRequestedAt !== null) {
        await end(this.lifecycle(), job.id, "cancelled", { now, from: ["running"], attempt: job.attempt });
        return;
      }
      const back = await backToQueue(db, job.id, job.attempt, "retry", now);
      if (!back) return;
      this.background(
        this.feeds.send(job.id, { type: "job.queued", attempt: back.attempt, reason: "retry", at: now }, { createdAt: back.createdAt, pool: back.pool }),
      );
    }
    this.log().warn("job_adopted", { job_id: job.id, status: job.status });
    const needs = await needsOf(db, job.id);
    if (this.store.queued(job.id) || this.store.assignment(job.id) || this.lending.has(job.id)) return;
    this.store.enqueue({
      job_id: job.id,
      tenant_id: job.tenantId,
      user_id: job.userId,
      enqueued_at: job.createdAt,
      queue_deadline_at: Math.max(job.queueDeadlineAt, now + cfg.QUEUED_TIMEOUT_SECONDS * 1000 * (job.status === "running" ? 1 : 0)),
      attempts: job.attempt,
      needs_id: this.store.needsId(needsDoc(needs ?? undefined)),
    });
    this.positionsDirty = true;
  }

  private schedule(reconcileWhenIdle = false): void {
    const now = this.clock.now();
    const { due, busy, hosts } = this.store.alarmInputs();
    let at: number | null = null;
    if (busy) at = Math.min(due ?? Infinity, now + TICK_MS);
    else if (hosts || reconcileWhenIdle) at = now + RECONCILE_EVERY_MS;
    if (at === null) return;
    // Alarms run on wall time; with the system clock wallTimeOf() is the identity.
    const target = wallTimeOf(this.clock, Math.max(at, now + 50));
    const wallNow = wallTimeOf(this.clock, now);
    const moveTo = (current: number | null) => {
      if (current !== null && current <= target && current >= wallNow) return;
      this.alarmAt = target;
      return this.ctx.storage.setAlarm(target);
    };
    // The alarm's time is kept in memory once known: most calls need no storage read at all.
    if (this.alarmAt !== undefined) void moveTo(this.alarmAt);
    else
      void this.ctx.storage.getAlarm().then((current) => {
        this.alarmAt ??= current;
        return moveTo(this.alarmAt);
      });
  }
}

/** A job's needs as stored: canonical JSON (sorted, distinct), so equal needs share one row. */
function needsDoc(needs: JobNeeds | undefined): string | undefined {
  if (!needs) return undefined;
  const sorted = (xs: readonly string[]) => [...new Set(xs)].sort();
  return JSON.stringify({
    classes: sorted(needs.classes),
    models: sorted(needs.models),
    ...(needs.modelsOnDemand ? { modelsOnDemand: true } : {}),
    ...(needs.privateModels?.length ? { privateModels: needs.privateModels.map(({ folder, name, sha256, size }) => ({ folder, name, sha256, size })) } : {}),
  });
}

function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}

/** What job.started would have said, repeated by a terminal event that came without one. */
function hostTimings(ev: { model_fetch_ms?: number | undefined; input_fetch_ms?: number | undefined }): JobTimings {
  return {
    ...(ev.model_fetch_ms !== undefined ? { model_fetch_ms: ev.model_fetch_ms } : {}),
    ...(ev.input_fetch_ms !== undefined ? { input_fetch_ms: ev.input_fetch_ms } : {}),
  };
}
