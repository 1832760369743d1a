/**
 * One dispatched job attempt held by this host, and the decisions that can cut it short.
 *
 * State machine (the heartbeat reports the first four):
 *   preparing → queued (in ComfyUI's queue) → running (execution_start seen) → uploading → reporting → done
 * A stop decision can arrive in any state. The first one wins, except `drop`, which overrides
 * everything because it means the edge no longer wants to hear about this attempt at all:
 *   cancel   (user asked)        → `job.cancelled` once ComfyUI confirms the prompt is gone
 *   deadline (deadline_ms passed) → `job.failed timeout`, likewise
 *   handback (draining)          → `job.failed host_draining` (retryable)
 *   reject   (ComfyUI accepted only part of the workflow) → `job.failed invalid_workflow`
 *   drop     (lease revoked/expired, stale 409, replaced by a newer attempt) → nothing is reported
 */

import { randomUUID } from "node:crypto";
import type { DispatchRef, DispatchRequest, JobFailure } from "../../../src/protocol/messages.ts";
import type { Preview } from "../comfy/preview.ts";
import type { PromptEnd } from "../comfy/prompt-tracker.ts";
import { type Deferred, deferred } from "../lib/async.ts";
import { JobSpans } from "./spans.ts";
import { jobNamespace } from "./workflow.ts";

export type JobState = "preparing" | "queued" | "running" | "uploading" | "reporting" | "done";

export type StopDecision =
  | { kind: "cancel"; reason: "user" | "timeout" }
  | { kind: "deadline" }
  | { kind: "handback" }
  | { kind: "reject"; failure: JobFailure }
  | { kind: "drop"; why: string };

export class Job {
  readonly request: DispatchRequest;
  readonly ref: DispatchRef;
  readonly namespace: string;
  /** Our own prompt id (a UUID, as newer ComfyUI releases require). */
  readonly promptId = randomUUID();
  readonly acceptedAt = Date.now();
  state: JobState = "preparing";
  stop: StopDecision | undefined;
  /** POST /prompt returned 200: the prompt is ComfyUI's until it ends. */
  submitted = false;
  /**
   * Drain is deleting this queued prompt: if it vanishes now, that is the hand-back, not a lost
   * ComfyUI. (A prompt that started meanwhile is left to finish and reported normally.)
   */
  handingBack = false;
  startedAt: number | undefined;
  /** What this attempt measured, for the edge's `timings` (sent with job.started, job.executed, job.succeeded). */
  readonly timings: { model_fetch_ms?: number; input_fetch_ms?: number; execution_ms?: number; upload_ms?: number } = {};
  /** Where this attempt's time goes here, step by step (spans.ts). */
  readonly spans = new JobSpans();
  leaseExpiresAt: number;
  /** Files its prompt wrote, from the history entry (cached nodes left out): deleted with the job. */
  readonly files = new Set<string>();
  /** Files ComfyUI reported while the prompt ran (`executed`): kept from the sweep while the job is held, never deleted on their word alone (a cached node repeats another prompt's files). */
  readonly seenFiles = new Set<string>();
  /** The sampler's latest preview (only the newest one is held; forwarding to the edge is previews.ts). */
  latestPreview: (Preview & { at: number }) | undefined;
  /** Aborted by any stop decision: interrupts input downloads, uploads and event retries. */
  readonly abort = new AbortController();
  /** Resolved once ComfyUI is done with the prompt (finished, vanished or lost). */
  readonly ended: Deferred<PromptEnd> = deferred<PromptEnd>();
  /** Resolved when the job has fully left the host (reported or dropped). */
  readonly finished: Deferred<void> = deferred<void>();

  /** `receivedAt`: when its dispatch request arrived (performance.now()). */
  constructor(request: DispatchRequest, receivedAt?: number) {
    if (receivedAt !== undefined) this.spans.mark("received", receivedAt);
    this.spans.mark("accepted");
    this.request = request;
    this.ref = { job_id: request.job_id, attempt: request.attempt, lease_id: request.lease_id };
    this.namespace = jobNamespace(this.ref);
    this.leaseExpiresAt = this.acceptedAt + request.lease_ttl_ms;
  }

  get key(): string {
    return refKey(this.ref);
  }

  /** Records a decision; returns true if it changed what the job will report. */
  decide(decision: StopDecision): boolean {
    if (this.state === "done") return false;
    if (this.stop && (this.stop.kind === "drop" || decision.kind !== "drop")) return false;
    this.stop = decision;
    this.abort.abort(new Error(`stopped: ${decision.kind}`));
    return true;
  }

  sameRef(ref: DispatchRef): boolean {
    return ref.job_id === this.ref.job_id && ref.attempt === this.ref.attempt && ref.lease_id === this.ref.lease_id;
  }
}

export function refKey(ref: DispatchRef): string {
  return `${ref.job_id}\u0000${ref.attempt}\u0000${ref.lease_id}`;
}
