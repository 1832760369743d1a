/**
 * Runs one job attempt end to end: prepare (model files, inputs) → submit (`POST /prompt` with our prompt_id
 * and client_id, after the tracker is watching) → follow (tracker: WebSocket + poll; `job.progress`
 * with the prompt's overall percent, progress.ts; sampler previews to the edge while the prompt
 * runs, if the dispatch asked for them, previews.ts) → collect (every output file in the history
 * entry, read from ComfyUI's folder, read-output.ts) → upload (each output to the edge) → report
 * (exactly one terminal event, after every upload succeeded; the last upload carries it when it
 * can, so one signed call ends the job). Where the time went is in job.spans (spans.ts).
 *
 * One `JobRun` per attempt holds its run state (event stream, deadline timer, what ComfyUI said).
 * Stop decisions (job.ts) are applied by `JobRun.stop`: before submission the runner just stops;
 * after it, the prompt is deleted from ComfyUI's queue and, if it is running, interrupted by
 * prompt id — repeatedly, since an interrupt can only land on a running prompt — until ComfyUI
 * confirms it is gone. Only then is the decision reported, so a cancelled job never leaves work
 * running behind the edge's back.
 *
 * Before anything reaches ComfyUI the workflow passes the host's policy (policy.ts: allowed node
 * classes, file inputs only the files the host placed). Once ComfyUI is done with the prompt and
 * the outputs are uploaded — or the job ends any other way — every file of the job is deleted
 * (files.ts), before the terminal event is sent. Failures are reported through `publicFailure`
 * (no tracebacks, paths or host names); the full error goes to the log with the job id.
 */
import { type JobFailure, MAX_CARRIED_MANIFEST_CHARS, type OutputDescriptor } from "../../../src/protocol/messages.ts";
import { publicFailure } from "../../../src/protocol/public-error.ts";
import { type ComfyClient, ComfyError } from "../comfy/client.ts";
import type { ComfyCatalog } from "../comfy/link.ts";
import type { PromptEnd, PromptTracker } from "../comfy/prompt-tracker.ts";
import type { Config } from "../config.ts";
import type { EdgeClient, EdgeResult } from "../edge/client.ts";
import { within } from "../lib/async.ts";
import { sha256Hex } from "../lib/hash.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { type Delivery, JobEvents, type TerminalBody } from "./events.ts";
import { filesOfEntry, filesOfUi, removeJobFiles } from "./files.ts";
import { prepareInputs } from "./inputs.ts";
import type { Job, StopDecision } from "./job.ts";
import type { JobModels } from "./models.ts";
import { classifyHistory, invalidWorkflow } from "./outcome.ts";
import { contentTypeOf, listOutputFiles, outputName } from "./outputs.ts";
import { checkWorkflow, type WorkflowRules } from "./policy.ts";
import { PreviewForwarder } from "./previews.ts";
import { PromptProgress } from "./progress.ts";
import { readOutput } from "./read-output.ts";
import { round } from "./spans.ts";
import { rewriteWorkflow } from "./workflow.ts";

export interface RunnerDeps {
  cfg: Pick<Config, "hostId" | "progressIntervalMs" | "cancelRetryMs" | "maxInputBytes" | "maxOutputBytes" | "transferTimeoutMs" | "comfyDirs">;
  comfy: ComfyClient;
  link: { catalog: ComfyCatalog };
  /** The policy rules for the ComfyUI currently connected. */
  rules: () => WorkflowRules;
  /** Names of this machine, hidden from the errors tenants see. */
  hostNames: readonly string[];
  tracker: PromptTracker;
  edge: EdgeClient;
  clientId: string;
  log: Logger;
  metrics: Metrics;
  /** The job's registered model files, through the model cache (models.ts). */
  models: Pick<JobModels, "prepare" | "release">;
  /** A model file was downloaded: ComfyUI lists it now, so the catalog changed. */
  onModelsFetched: () => void;
}

/** An output read and named, not uploaded yet. */
interface PendingUpload {
  name: string;
  contentType: string;
  nodeId: string;
  kind: string;
  sha256: string;
  bytes: Uint8Array;
}

export type Outcome =
  /** `carry`: the last output, uploaded with the terminal event (report). */
  | { kind: "succeeded"; outputs: OutputDescriptor[]; carry?: PendingUpload }
  | { kind: "failed"; failure: JobFailure }
  | { kind: "cancelled" }
  | { kind: "dropped"; why: string };

const MAX_OUTPUTS = 256;
/**
 * `job.executed` waits this long for the outputs to be up: small outputs are, and their terminal
 * event frees the GPU slot at the edge with one signed call instead of two. Prefetched jobs keep
 * ComfyUI busy meanwhile, so the later refill of a slow upload costs no GPU time. `job.started`
 * waits as long for the prompt's end (the edge learns nothing from it that the end does not say).
 */
const EXECUTED_DELAY_MS = 25;
/** A carried last output larger than this is preceded by `job.executed` (sent at once, not held back). */
const EXECUTED_FIRST_BYTES = 1024 * 1024;

/** One job attempt being run: its state while it runs, and the way to stop it. */
export class JobRun {
  readonly job: Job;
  private readonly deps: RunnerDeps;
  private readonly log: Logger;
  private readonly events: JobEvents;
  /** Sampler previews to the edge, when the dispatch asked for them (previews.ts). */
  private readonly previews: PreviewForwarder | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private stopping = false;
  /** ComfyUI executed the prompt (a history entry exists), so `job.started` must precede the end. */
  private executed = false;
  /** How the prompt ended in ComfyUI, once it did. */
  private end: PromptEnd | undefined;

  constructor(job: Job, deps: RunnerDeps) {
    this.job = job;
    this.deps = deps;
    this.log = deps.log.child({ job_id: job.ref.job_id, attempt: job.ref.attempt });
    this.events = new JobEvents({
      ref: job.ref,
      hostId: deps.cfg.hostId,
      edge: deps.edge,
      progressIntervalMs: deps.cfg.progressIntervalMs,
      log: this.log,
      onStale: () => this.stop({ kind: "drop", why: "stale lease (409)" }),
      onDelivered: (sentAt) => (job.leaseExpiresAt = Math.max(job.leaseExpiresAt, sentAt + job.request.lease_ttl_ms)),
      executedDelayMs: EXECUTED_DELAY_MS,
      startedDelayMs: EXECUTED_DELAY_MS,
    });
    const terms = job.request.preview;
    this.previews =
      terms &&
      new PreviewForwarder({
        terms,
        signal: job.abort.signal,
        upload: (frame, signal) => deps.edge.putPreview(job.ref, frame, { signal }),
        log: this.log,
        metrics: deps.metrics,
      });
  }

  /** Applies a stop decision to the job in whatever state it is (see job.ts for the decisions). */
  stop(decision: StopDecision): void {
    const job = this.job;
    if (!job.decide(decision)) return;
    this.deps.log.info("job_stop_requested", { job_id: job.ref.job_id, attempt: job.ref.attempt, decision: decision.kind, state: job.state });
    if (decision.kind === "drop") this.events.close();
    if (job.submitted && !job.ended.settled) void this.stopPrompt();
  }

  async run(): Promise<Outcome> {
    const { job, deps, log } = this;
    if (job.stop?.kind === "drop") this.events.close();
    let outcome: Outcome;
    try {
      outcome = await this.execute();
    } catch (err) {
      log.error("job_internal_error", { error: err as Error, stack: (err as Error).stack });
      outcome = job.stop?.kind === "drop" ? { kind: "dropped", why: job.stop.why } : failed("host_error", `gpu-backend error: ${(err as Error).message}`);
    } finally {
      if (this.deadline) clearTimeout(this.deadline);
      deps.tracker.unwatch(job.promptId);
      deps.models.release(job);
    }
    // The job's files go before the edge hears the result: once it has, nothing of the job is left.
    await this.cleanupFiles().catch((err: unknown) => log.error("job_cleanup_crashed", { error: err as Error, stack: (err as Error).stack }));
    // No preview reaches the edge after the terminal event (at most one upload to wait for, bounded).
    await this.previews?.close();
    job.state = "reporting";
    await this.report(outcome);
    job.state = "done";
    return outcome;
  }

  private async execute(): Promise<Outcome> {
    const { job, deps, log } = this;
    if (job.stop) return fromStop(job);

    // Before any input is fetched or anything reaches ComfyUI.
    const verdict = checkWorkflow(job.request, deps.rules());
    if (!verdict.ok) {
      log.info("job_refused_by_policy", { details: verdict.failure.details });
      return { kind: "failed", failure: verdict.failure };
    }

    // Registered model files first: the prompt must never reach ComfyUI before its files are there.
    const models = await deps.models.prepare(job);
    if (!models.ok && "stale" in models) this.stop({ kind: "drop", why: "stale lease (409) on a model download" });
    if (job.stop) return fromStop(job);
    if (!models.ok) return "failure" in models ? { kind: "failed", failure: models.failure } : failed("host_error", "model preparation stopped");
    job.timings.model_fetch_ms = models.fetchMs;
    if (models.fetched > 0) {
      log.info("job_models_fetched", { fetched: models.fetched, model_fetch_ms: models.fetchMs });
      deps.onModelsFetched();
    }

    const inputsFrom = Date.now();
    const inputs = await prepareInputs(job, {
      edge: deps.edge,
      comfy: deps.comfy,
      maxInputBytes: deps.cfg.maxInputBytes,
      transferTimeoutMs: deps.cfg.transferTimeoutMs,
    });
    if (!inputs.ok && "stale" in inputs) this.stop({ kind: "drop", why: "stale lease (409) on input" });
    if (job.stop) return fromStop(job);
    if (!inputs.ok) return "failure" in inputs ? { kind: "failed", failure: inputs.failure } : failed("host_error", "input preparation stopped");
    job.timings.input_fetch_ms = Date.now() - inputsFrom;

    const rewritten = rewriteWorkflow(job.request.workflow, job.namespace, inputs.values, deps.link.catalog.outputNodes);
    if (!rewritten.ok) return { kind: "failed", failure: { code: "invalid_workflow", message: rewritten.message, details: rewritten.details } };

    const progress = new PromptProgress(job.request.workflow, deps.link.catalog.outputNodes);
    deps.tracker.watch(job.promptId, {
      onStarted: () => this.onStarted(),
      onNodes: (update) => progress.apply(update),
      onProgress: (value, max, node) => this.events.progress({ value, max, node, node_type: progress.classOf(node), percent: progress.percent }),
      // Files are known (and kept from the sweep) as soon as ComfyUI reports them.
      onExecuted: (ui) => {
        for (const f of filesOfUi(deps.cfg.comfyDirs, ui)) job.seenFiles.add(f);
      },
      onPreview: (preview) => {
        job.latestPreview = { ...preview, at: Date.now() };
        this.previews?.offer(preview);
      },
      onEnded: (end) => job.ended.resolve(end),
    });
    let posted;
    job.spans.mark("posting");
    try {
      posted = await deps.comfy.postPrompt({ prompt: rewritten.prompt, prompt_id: job.promptId, client_id: deps.clientId });
    } catch (err) {
      deps.tracker.unwatch(job.promptId);
      // The POST may have reached ComfyUI before the connection failed: make sure it never runs.
      void deps.comfy.deleteQueued([job.promptId]).catch(() => {});
      void deps.comfy.interrupt(job.promptId).catch(() => {});
      if (job.stop) return fromStop(job);
      return failed("host_error", `ComfyUI did not take the prompt: ${(err as Error).message}`, err instanceof ComfyError ? { kind: err.kind } : undefined);
    }
    if (!posted.ok) {
      deps.tracker.unwatch(job.promptId);
      log.info("job_invalid_workflow", { status: posted.status });
      return { kind: "failed", failure: invalidWorkflow(posted.error, posted.nodeErrors) };
    }
    job.spans.mark("submitted");
    if (posted.promptId !== job.promptId) throw new Error(`ComfyUI replaced our prompt_id (${posted.promptId}): this ComfyUI version is not supported`);
    job.submitted = true;
    if (job.state === "preparing") job.state = "queued";
    deps.tracker.markSubmitted(job.promptId);
    // A 200 with node_errors runs only the valid outputs: a partial result is not what was asked for.
    if (Object.keys(posted.nodeErrors).length > 0) this.stop({ kind: "reject", failure: invalidWorkflow(undefined, posted.nodeErrors) });
    if (job.stop) void this.stopPrompt();

    const end: PromptEnd = await job.ended.promise;
    job.spans.mark("ended");
    this.end = end;
    // The prompt is over: no more previews (one in flight may still land, before the terminal event).
    void this.previews?.close();
    if (end.kind === "finished") for (const f of filesOfEntry(deps.cfg.comfyDirs, end.entry)) job.files.add(f);
    if (this.deadline) clearTimeout(this.deadline);
    this.executed = end.kind === "finished";
    if (job.stop) return fromStop(job);
    switch (end.kind) {
      case "vanished":
        if (job.handingBack) return failed("host_draining", "the host is shutting down; the job was handed back before it started");
        return failed("host_error", "the prompt vanished from ComfyUI (restarted?)");
      case "comfy_lost":
        return failed("host_error", `ComfyUI was lost while the job was in it (${end.reason})`);
      case "finished":
        break;
    }
    const result = classifyHistory(end.entry);
    if (result.kind === "failed") return { kind: "failed", failure: result.failure };
    if (result.kind === "interrupted") return failed("host_error", "the prompt was interrupted by something other than this host");

    job.state = "uploading";
    // ComfyUI is done with the model files: another job may need their room in the cache.
    deps.models.release(job);
    // The GPU is done with it: tell the edge now so the next job is on its way while we upload.
    // job.started first, in case the WebSocket missed execution_start (the poll found the end).
    this.events.started(job.promptId, startedTimings(job));
    if (job.startedAt !== undefined) job.timings.execution_ms = Date.now() - job.startedAt;
    const collectFrom = Date.now();
    this.events.executed(job.timings.execution_ms);
    const { files, skippedCached } = listOutputFiles(end.entry);
    if (skippedCached.length > 0) log.warn("job_cached_outputs_skipped", { files: skippedCached });
    if (files.length > MAX_OUTPUTS) return failed("execution_error", `the workflow produced ${files.length} files; at most ${MAX_OUTPUTS} are supported`);
    const used = new Set<string>();
    const outputs: OutputDescriptor[] = [];
    for (const [i, file] of files.entries()) {
      if (job.stop) return fromStop(job);
      let got;
      const readFrom = performance.now();
      try {
        got = await readOutput(file.ref, {
          comfy: deps.comfy,
          dirs: deps.cfg.comfyDirs,
          maxBytes: deps.cfg.maxOutputBytes,
          timeoutMs: deps.cfg.transferTimeoutMs,
        });
      } catch (err) {
        const tooBig = err instanceof ComfyError && err.status === 413;
        return failed(tooBig ? "output_upload_failed" : "host_error", `output ${file.ref.filename}: ${(err as Error).message}`);
      }
      const upload: PendingUpload = {
        name: outputName(file.ref.filename, used),
        contentType: contentTypeOf(file.ref.filename, got.contentType),
        nodeId: file.nodeId.slice(0, 64),
        kind: file.kind.slice(0, 64),
        sha256: sha256Hex(got.bytes),
        bytes: got.bytes,
      };
      job.spans.add("collect", performance.now() - readFrom);
      outputs.push({
        name: upload.name,
        content_type: upload.contentType,
        size: upload.bytes.length,
        sha256: upload.sha256,
        node_id: upload.nodeId,
        kind: upload.kind,
      });
      // The last output carries the terminal event (report): one signed call ends the job. Not
      // while a preview upload is in flight: the terminal event must wait for it, the output need not.
      if (i === files.length - 1 && carriable(outputs) && !this.previews?.busy) {
        job.timings.upload_ms = Date.now() - collectFrom;
        return { kind: "succeeded", outputs, carry: upload };
      }
      const uploadFrom = performance.now();
      const put = await deps.edge.putOutput(job.ref, upload, upload.bytes, { signal: job.abort.signal });
      job.spans.add("upload", performance.now() - uploadFrom);
      if (!put.ok) {
        if (put.reason === "stale") this.stop({ kind: "drop", why: "stale lease (409) on output" });
        if (job.stop) return fromStop(job);
        return failed("output_upload_failed", uploadFailure(upload.name, put));
      }
    }
    if (job.stop) return fromStop(job);
    job.timings.upload_ms = Date.now() - collectFrom;
    return { kind: "succeeded", outputs };
  }

  private onStarted(): void {
    const { job, deps } = this;
    if (job.startedAt !== undefined) return;
    job.startedAt = Date.now();
    job.spans.mark("started");
    if (job.state === "preparing" || job.state === "queued") job.state = "running";
    deps.metrics.queueWait.observe((job.startedAt - job.acceptedAt) / 1000);
    this.events.started(job.promptId, startedTimings(job));
    this.deadline = setTimeout(() => this.stop({ kind: "deadline" }), job.request.deadline_ms);
    this.deadline.unref();
  }

  /** Delete from the queue; interrupt if running; repeat until ComfyUI confirms the prompt ended. */
  private async stopPrompt(): Promise<void> {
    const { job, deps } = this;
    if (this.stopping) return;
    this.stopping = true;
    while (!job.ended.settled) {
      try {
        await deps.comfy.deleteQueued([job.promptId]);
        const queue = await deps.comfy.queue();
        if (queue.queue_running.some((i) => i.promptId === job.promptId)) await deps.comfy.interrupt(job.promptId);
        // Deleting a queued prompt produces no event at all: the tracker's check sees it vanish.
        else if (!queue.queue_pending.some((i) => i.promptId === job.promptId)) void deps.tracker.checkNow();
      } catch (err) {
        deps.log.debug("job_stop_retry", { job_id: job.ref.job_id, error: err as Error });
      }
      await within(job.ended.promise, deps.cfg.cancelRetryMs, undefined);
    }
  }

  private async report(outcome: Outcome): Promise<void> {
    const { job, deps, log } = this;
    const labels = outcome.kind === "failed" ? { outcome: "failed", code: outcome.failure.code } : { outcome: outcome.kind, code: "" };
    deps.metrics.jobsTotal.inc(labels);
    deps.metrics.jobDuration.observe({ outcome: outcome.kind }, (Date.now() - job.acceptedAt) / 1000);
    if (job.startedAt !== undefined) deps.metrics.executionDuration.observe((Date.now() - job.startedAt) / 1000);
    if (outcome.kind === "dropped") {
      this.events.close();
      log.info("job_dropped", { why: outcome.why });
      return;
    }
    // The edge sees started → … → terminal for every prompt ComfyUI executed, even if the
    // WebSocket missed execution_start.
    if (this.executed) this.events.started(job.promptId, startedTimings(job));
    // The whole error (traceback, paths) stays here; the edge gets the public version.
    if (outcome.kind === "failed")
      log.warn("job_failure", { code: outcome.failure.code, message: outcome.failure.message, details: boundedFailure(outcome.failure).details });
    const spans = job.spans.get();
    const body: TerminalBody =
      outcome.kind === "succeeded"
        ? {
            type: "job.succeeded",
            outputs: outcome.outputs,
            ...(job.timings.upload_ms !== undefined ? { upload_ms: job.timings.upload_ms } : {}),
            ...(job.timings.execution_ms !== undefined ? { execution_ms: job.timings.execution_ms } : {}),
            ...startedTimings(job),
            spans,
          }
        : outcome.kind === "failed"
          ? { type: "job.failed", error: publicFailure(outcome.failure, { hostNames: deps.hostNames }), ...startedTimings(job), spans }
          : { type: "job.cancelled", spans };
    const reportFrom = performance.now();
    const delivery = outcome.kind === "succeeded" && outcome.carry ? await this.carryTerminal(body, outcome.carry) : await this.events.terminal(body);
    // Dropped while its end was on the way (the lease moved on): nothing was reported.
    if (delivery === "closed" && job.stop?.kind === "drop") {
      log.info("job_dropped", { why: job.stop.why, spans });
      return;
    }
    log.info("job_finished", {
      spans: { ...spans, report: round(performance.now() - reportFrom) },
      outcome: outcome.kind,
      ...(outcome.kind === "failed" ? { code: outcome.failure.code, message: outcome.failure.message.slice(0, 300) } : {}),
      ...(outcome.kind === "succeeded" ? { outputs: outcome.outputs.length } : {}),
      delivery,
    });
  }

  /**
   * Ends a job with its last output: the upload's signed manifest carries the terminal event,
   * which the edge applies once the output is stored (its `terminal` reply says so). An edge that
   * did not apply it gets the event posted as usual; an upload that failed turns the end into
   * `job.failed output_upload_failed`, under the same seq (if the edge did apply the success and
   * only its answer was lost, that one is ignored as not newer).
   */
  private async carryTerminal(body: TerminalBody, upload: PendingUpload): Promise<Delivery> {
    const { job, deps } = this;
    // A large upload takes a while: the GPU's slot is freed first (job.executed), as without carrying.
    if (upload.bytes.length > EXECUTED_FIRST_BYTES) this.events.flushExecuted();
    const event = await this.events.reserveTerminal(body);
    if (!event) return "closed";
    const sentAt = Date.now();
    const uploadFrom = performance.now();
    // Not the job's own signal: a cancel arriving now is too late to change the end, and only a
    // drop (which closes the event stream) stops the report.
    const put = await deps.edge.putOutput(job.ref, upload, upload.bytes, { signal: this.events.signal, terminal: event });
    job.spans.add("upload", performance.now() - uploadFrom);
    if (put.ok && put.value?.terminal) {
      this.events.reservedOutcome({ delivered: true, sentAt });
      return "delivered";
    }
    if (put.ok) return this.events.deliverReserved(event);
    if (put.reason === "stale") {
      this.events.reservedOutcome({ stale: true });
      return "stale";
    }
    if (put.reason === "aborted") return "closed";
    const failure: JobFailure = { code: "output_upload_failed", message: uploadFailure(upload.name, put) };
    this.log.warn("job_failure", { code: failure.code, message: failure.message });
    return this.events.deliverReserved(
      this.events.replaceReserved(event, { type: "job.failed", error: publicFailure(failure, { hostNames: deps.hostNames }) }),
    );
  }

  /**
   * Deletes every file of the job (its namespace folders, the files its prompt reported) once
   * ComfyUI is done with it. Without a history entry (the prompt vanished, ComfyUI was lost) the
   * entry is asked for once more; whatever stays unknown is left to the sweep.
   */
  private async cleanupFiles(): Promise<void> {
    const { job, deps, log } = this;
    if (job.submitted && !job.ended.settled) return; // still in ComfyUI's hands: the sweep gets it later
    if (job.submitted && this.end?.kind !== "finished") {
      try {
        const entry = await deps.comfy.history(job.promptId);
        if (entry) for (const f of filesOfEntry(deps.cfg.comfyDirs, entry)) job.files.add(f);
      } catch (err) {
        log.debug("job_cleanup_history_unavailable", { error: err as Error });
      }
    }
    const failures = await removeJobFiles(deps.cfg.comfyDirs, job.namespace, job.files);
    if (failures.length > 0) log.warn("job_cleanup_failed", { failures: failures.slice(0, 10) });
    else log.debug("job_files_removed", { files: job.files.size });
  }
}

/** Whether the terminal event listing `outputs` fits in an upload's manifest (a header). */
function carriable(outputs: OutputDescriptor[]): boolean {
  return JSON.stringify(outputs).length + CARRIED_EVENT_OVERHEAD_CHARS <= MAX_CARRIED_MANIFEST_CHARS;
}

/** The rest of a carried terminal event and its upload's manifest: ids, seq, spans (generous). */
const CARRIED_EVENT_OVERHEAD_CHARS = 1_500;

function uploadFailure(name: string, put: Exclude<EdgeResult<unknown>, { ok: true }>): string {
  return `output ${name}: ${put.reason === "rejected" ? `the edge answered ${put.status}` : put.reason === "unavailable" ? put.detail : put.reason}`;
}

function fromStop(job: Job): Outcome {
  const stop = job.stop!;
  switch (stop.kind) {
    case "cancel":
      return { kind: "cancelled" };
    case "deadline":
      return failed("timeout", `the job ran longer than its deadline of ${job.request.deadline_ms} ms and was interrupted`);
    case "handback":
      return failed("host_draining", "the host is shutting down; the job was handed back");
    case "reject":
      return { kind: "failed", failure: stop.failure };
    case "drop":
      return { kind: "dropped", why: stop.why };
  }
}

function failed(code: JobFailure["code"], message: string, details?: unknown): Outcome {
  return { kind: "failed", failure: { code, message: message.slice(0, 3_900), ...(details === undefined ? {} : { details }) } };
}

/** ComfyUI's details can be huge (node_errors of a big workflow): keep log lines a sane size. */
const MAX_DETAILS_CHARS = 64 * 1024;
function boundedFailure(failure: JobFailure): JobFailure {
  if (failure.details === undefined) return failure;
  const text = JSON.stringify(failure.details);
  if (text.length <= MAX_DETAILS_CHARS) return failure;
  return { ...failure, details: { truncated: true, original_chars: text.length, preview: text.slice(0, MAX_DETAILS_CHARS - 1024) } };
}

/** What job.started carries of the attempt's timings (those measured before the prompt). */
function startedTimings(job: Job): { model_fetch_ms?: number; input_fetch_ms?: number } {
  const { model_fetch_ms, input_fetch_ms } = job.timings;
  return { ...(model_fetch_ms !== undefined ? { model_fetch_ms } : {}), ...(input_fetch_ms !== undefined ? { input_fetch_ms } : {}) };
}
