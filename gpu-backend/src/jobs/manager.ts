/**
 * The jobs this host holds, keyed by job id, and every way the edge can act on them: dispatch,
 * cancel, heartbeat replies (renew, cancel, revoke), lease expiry, and hand-back on drain.
 *
 * Dispatch rules (the edge relies on them):
 * - idempotent on (job_id, attempt, lease_id): a repeat — of a held job or of one that already
 *   finished here — is answered `duplicate` and never runs twice;
 * - a newer attempt of a held job replaces it (the old attempt is dropped silently: deleted or
 *   interrupted in ComfyUI, nothing reported);
 * - an older attempt, or the same attempt with another lease, is `stale`;
 * - otherwise refused while draining, while ComfyUI is not ready, or when every slot is held.
 */
import type { CancelRequest, DispatchRef, DispatchRequest, HeartbeatReply, HOST_JOB_STATES } from "../../../src/protocol/messages.ts";
import type { LinkState } from "../comfy/link.ts";
import { within } from "../lib/async.ts";
import { type SlotView, slotView } from "../slots.ts";
import { Job, refKey } from "./job.ts";
import { JobRun, type RunnerDeps } from "./runner.ts";
import type { Held } from "./sweeper.ts";

export type DispatchDecision =
  | { kind: "accepted" | "duplicate" | "replaced"; held: number }
  | { kind: "full"; held: number }
  | { kind: "stale"; detail: string }
  | { kind: "draining" }
  | { kind: "comfy_down"; state: LinkState };

/** Jobs held at once (uploads in flight included) stay under this multiple of the capacity. */
const MAX_HELD_FACTOR = 3;

export type HostJobState = (typeof HOST_JOB_STATES)[number];

/** Clock skew allowed between the edge's lease expiry and ours before a job is given up. */
const LEASE_SKEW_MS = 5_000;
const REMEMBERED_JOBS = 2_000;

export class JobManager {
  private readonly jobs = new Map<string, JobRun>();
  /** job id → last attempt seen and its key, for jobs no longer held (bounded, oldest forgotten). */
  private readonly past = new Map<string, { attempt: number; key: string }>();
  /** Every job whose runner has not returned, replaced attempts still stopping included. */
  private readonly live = new Set<JobRun>();
  private readonly idleWaiters = new Set<() => void>();
  private readonly deps: RunnerDeps;
  private readonly slots: { slots: number; prefetch: number };
  private readonly comfyState: () => LinkState;
  draining = false;

  constructor(deps: RunnerDeps, slots: { slots: number; prefetch: number }, comfyState: () => LinkState) {
    this.deps = deps;
    this.slots = slots;
    this.comfyState = comfyState;
  }

  get held(): number {
    return this.jobs.size;
  }

  /**
   * Jobs that occupy a slot: those preparing, queued or running in ComfyUI. Once its prompt is
   * over a job only uploads and reports, which does not need the GPU (and the edge has been told
   * with `job.executed`), so the next job can already be queued behind the running one.
   */
  get busy(): number {
    let n = 0;
    for (const { job } of this.jobs.values()) if (job.state === "preparing" || job.state === "queued" || job.state === "running") n++;
    return n;
  }

  view(): SlotView {
    return slotView(this.slots, this.busy, this.draining);
  }

  list(): Job[] {
    return this.runs().map((run) => run.job);
  }

  /** The runs of the held jobs, to stop them. */
  runs(): JobRun[] {
    return [...this.jobs.values()];
  }

  /** The newest sampler preview of a held job (for progress streaming), if ComfyUI sent one. */
  latestPreview(jobId: string): Job["latestPreview"] {
    return this.jobs.get(jobId)?.job.latestPreview;
  }

  /** What the sweep must leave alone: the folders and files of every job not yet over. */
  heldFiles(): Held {
    const jobs = [...this.live].map((run) => run.job);
    return { namespaces: new Set(jobs.map((j) => j.namespace)), files: new Set(jobs.flatMap((j) => [...j.files, ...j.seenFiles])) };
  }

  /** `receivedAt`: when the dispatch request arrived (performance.now()), for the job's `accept` span. */
  dispatch(req: DispatchRequest, receivedAt?: number): DispatchDecision {
    const existing = this.jobs.get(req.job_id);
    const past = this.past.get(req.job_id);
    if (existing?.job.sameRef(req) || past?.key === refKey(req)) return { kind: "duplicate", held: this.jobs.size };
    const newest = Math.max(existing?.job.ref.attempt ?? 0, past?.attempt ?? 0);
    if (req.attempt <= newest) return { kind: "stale", detail: `attempt ${req.attempt} is not newer than attempt ${newest} seen here for this job` };
    if (this.draining) return { kind: "draining" };
    const state = this.comfyState();
    if (state !== "ready") return { kind: "comfy_down", state };
    if (existing) {
      this.deps.log.info("job_replaced", { job_id: req.job_id, old_attempt: existing.job.ref.attempt, attempt: req.attempt });
      this.jobs.delete(req.job_id);
      existing.stop({ kind: "drop", why: `replaced by attempt ${req.attempt}` });
    } else if (this.busy >= this.view().capacity || this.jobs.size >= MAX_HELD_FACTOR * this.view().capacity) {
      // The edge frees a slot when it applies a terminal event, maybe before our reply to it
      // returned: jobs that are only reporting do not count, so its next dispatch is not refused.
      return { kind: "full", held: this.jobs.size };
    }
    this.start(new Job(req, receivedAt));
    return { kind: existing ? "replaced" : "accepted", held: this.jobs.size };
  }

  cancel(req: CancelRequest): "accepted" | "unknown" {
    const run = this.find(req);
    if (!run) return "unknown";
    run.stop(req.reason === "lease_revoked" ? { kind: "drop", why: "lease revoked (cancel)" } : { kind: "cancel", reason: req.reason });
    return "accepted";
  }

  applyHeartbeatReply(reply: HeartbeatReply): void {
    for (const r of reply.renewed) {
      const run = this.find(r);
      if (run) run.job.leaseExpiresAt = r.lease_expires_at;
    }
    for (const r of reply.cancel) {
      this.find(r)?.stop({ kind: "cancel", reason: "user" });
    }
    for (const r of reply.revoked) {
      this.find(r)?.stop({ kind: "drop", why: "lease revoked (heartbeat)" });
    }
  }

  /** Jobs whose lease ran out are the edge's to re-dispatch: stop spending GPU time on them. */
  expireLeases(now = Date.now()): void {
    for (const run of this.jobs.values()) {
      if (now > run.job.leaseExpiresAt + LEASE_SKEW_MS) run.stop({ kind: "drop", why: "lease expired" });
    }
  }

  /** What the heartbeat reports: every job the edge still expects us to work on. */
  heartbeatJobs(): Array<DispatchRef & { state: HostJobState }> {
    return this.list()
      .filter((job) => job.stop?.kind !== "drop")
      .map((job) => ({ ...job.ref, state: job.state === "preparing" || job.state === "queued" || job.state === "running" ? job.state : "uploading" }));
  }

  /**
   * Drain, first step: hand back every job that has not started executing. A queued prompt is
   * deleted from ComfyUI first, and handed back only if it really is gone (not just started,
   * not just finished) — a job that started meanwhile is left to finish.
   */
  async handBackUnstarted(): Promise<void> {
    await Promise.all(
      this.runs().map(async (run) => {
        const { job } = run;
        if (job.state === "preparing" && !job.submitted) return void run.stop({ kind: "handback" });
        if (job.state !== "queued") return;
        // Marked before the delete: the tracker's poll may see the prompt vanish before we do.
        job.handingBack = true;
        try {
          await this.deps.comfy.deleteQueued([job.promptId]);
          const queue = await this.deps.comfy.queue();
          const inQueue = [...queue.queue_running, ...queue.queue_pending].some((i) => i.promptId === job.promptId);
          if (inQueue) job.handingBack = false;
          else if (!(await this.deps.comfy.history(job.promptId))) run.stop({ kind: "handback" });
        } catch (err) {
          this.deps.log.warn("handback_check_failed", { job_id: job.ref.job_id, error: err as Error });
        }
      }),
    );
  }

  /** Drain, last step: the grace period is over; interrupt and hand back whatever is left. */
  handBackAll(): void {
    for (const run of this.jobs.values()) run.stop({ kind: "handback" });
  }

  /** Resolves when no job is held (or after `ms`, with false). */
  async waitIdle(ms: number): Promise<boolean> {
    if (this.jobs.size === 0) return true;
    let waiter: () => void = () => {};
    const idle = new Promise<true>((resolve) => {
      waiter = () => resolve(true);
      this.idleWaiters.add(waiter);
    });
    const result = await within(idle, ms, false);
    this.idleWaiters.delete(waiter);
    return result;
  }

  private find(ref: DispatchRef): JobRun | undefined {
    const run = this.jobs.get(ref.job_id);
    return run?.job.sameRef(ref) ? run : undefined;
  }

  private start(job: Job): void {
    const run = new JobRun(job, this.deps);
    this.jobs.set(job.ref.job_id, run);
    this.live.add(run);
    this.deps.log.info("job_accepted", { job_id: job.ref.job_id, attempt: job.ref.attempt, inputs: job.request.inputs.length });
    void run
      .run()
      .catch((err: unknown) => this.deps.log.error("job_runner_failed", { job_id: job.ref.job_id, error: err as Error }))
      .finally(() => {
        this.live.delete(run);
        if (this.jobs.get(job.ref.job_id) === run) this.jobs.delete(job.ref.job_id);
        this.remember(job);
        job.finished.resolve();
        if (this.jobs.size === 0) for (const w of this.idleWaiters) w();
      });
  }

  private remember(job: Job): void {
    const prior = this.past.get(job.ref.job_id);
    if (prior && prior.attempt > job.ref.attempt) return;
    this.past.delete(job.ref.job_id);
    this.past.set(job.ref.job_id, { attempt: job.ref.attempt, key: job.key });
    if (this.past.size > REMEMBERED_JOBS) this.past.delete(this.past.keys().next().value!);
  }
}
