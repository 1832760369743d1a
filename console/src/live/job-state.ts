/**
 * A job as the console shows it, kept current from its event stream: `fromJob` starts from the
 * API's view of the job, `applyEvent` folds each event in. Pure, so the jobs table and the job page
 * agree and it is tested without a browser. Events of an attempt that is no longer the current one
 * change nothing; a retry starts the attempt's progress, preview and outputs afresh.
 */
import type { Job, JobStatus, JobStreamEvent } from "comfyui-saas-client";

export interface LiveOutput {
  name: string;
  content_type: string;
  size: number;
  kind: string;
  url: string;
}

export interface LiveJob {
  id: string;
  status: JobStatus;
  pool: string;
  createdAt: string;
  attempt: number;
  /** The whole graph's progress, 0-100; null when the host does not say. */
  percent: number | null;
  nodeType: string | null;
  step: { value: number; max: number } | null;
  position: number | null;
  estimatedStartSeconds: number | null;
  estimatedFinishSeconds: number | null;
  previewUrl: string | null;
  outputs: LiveOutput[];
  error: { code: string; message: string } | null;
  cancelRequested: boolean;
  /** When the figures above were last true (ETAs count down from it). */
  asOf: number;
}

const TERMINAL_STATUS = new Set<JobStatus>(["succeeded", "failed", "cancelled"]);
export const isTerminal = (s: JobStatus) => TERMINAL_STATUS.has(s);

const output = (o: LiveOutput): LiveOutput => ({ name: o.name, content_type: o.content_type, size: o.size, kind: o.kind, url: o.url });

export function fromJob(job: Job, now = Date.now()): LiveJob {
  return {
    id: job.id,
    status: job.status,
    pool: job.pool,
    createdAt: job.created_at,
    attempt: job.attempt,
    percent: job.status === "succeeded" ? 100 : (job.progress?.percent ?? null),
    nodeType: job.progress?.node_type ?? null,
    step: job.progress ? { value: job.progress.value, max: job.progress.max } : null,
    position: job.queue_position ?? null,
    estimatedStartSeconds: job.estimated_start_seconds ?? null,
    estimatedFinishSeconds: job.estimated_finish_seconds ?? null,
    previewUrl: null,
    outputs: job.outputs.map(output),
    error: job.error ? { code: job.error.code, message: job.error.message } : null,
    cancelRequested: job.cancel_requested_at !== null,
    asOf: now,
  };
}

export function applyEvent(s: LiveJob, e: JobStreamEvent, now = Date.now()): LiveJob {
  if (isTerminal(s.status)) return s;
  // Position events belong to the queue, not to an attempt.
  const current = "attempt" in e.data ? e.data.attempt >= s.attempt : true;
  switch (e.type) {
    case "job.queued":
      if (!current) return s;
      return {
        ...s,
        status: "queued",
        attempt: e.data.attempt,
        percent: null,
        nodeType: null,
        step: null,
        previewUrl: e.data.reason === "retry" ? null : s.previewUrl,
        outputs: e.data.reason === "retry" ? [] : s.outputs,
        asOf: now,
      };
    case "job.position":
      if (s.status !== "queued") return s;
      return { ...s, position: e.data.position, estimatedStartSeconds: e.data.estimated_start_seconds, asOf: now };
    case "job.running":
      if (!current) return s;
      return { ...s, status: "running", attempt: e.data.attempt, position: null, estimatedStartSeconds: null, percent: s.percent ?? 0, asOf: now };
    case "job.progress":
      if (e.data.attempt !== s.attempt) return s;
      return {
        ...s,
        percent: e.data.percent === null ? s.percent : Math.max(s.percent ?? 0, e.data.percent),
        nodeType: e.data.node_type,
        step: { value: e.data.value, max: e.data.max },
        asOf: now,
      };
    case "job.preview":
      if (e.data.attempt !== s.attempt) return s;
      return { ...s, previewUrl: e.data.url };
    case "job.output":
      if (e.data.attempt !== s.attempt || s.outputs.some((o) => o.name === e.data.name)) return s;
      return { ...s, outputs: [...s.outputs, output(e.data)] };
    case "job.succeeded":
    case "job.failed":
    case "job.cancelled":
      return {
        ...s,
        status: e.data.status,
        attempt: e.data.attempt,
        percent: e.type === "job.succeeded" ? 100 : s.percent,
        position: null,
        estimatedStartSeconds: null,
        estimatedFinishSeconds: null,
        outputs: e.data.outputs.map(output),
        error: e.data.error ? { code: e.data.error.code, message: e.data.error.message } : null,
        asOf: now,
      };
  }
}

/** Seconds left of an estimate made at `asOf`, never below zero; null when there is none. */
export function remaining(seconds: number | null, asOf: number, now = Date.now()): number | null {
  if (seconds === null) return null;
  return Math.max(0, Math.round(seconds - (now - asOf) / 1000));
}

/**
 * The job as the API recorded its end, over what the stream showed: outputs already on screen keep
 * their link (both links are valid; a new one would load the same image again).
 */
export function settle(shown: LiveJob, recorded: LiveJob): LiveJob {
  const urls = new Map(shown.outputs.map((o) => [o.name, o.url]));
  return { ...recorded, outputs: recorded.outputs.map((o) => ({ ...o, url: urls.get(o.name) ?? o.url })) };
}
