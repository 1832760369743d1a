/**
 * Where one job attempt's time goes on this host, step by step (issue 21: find where the time goes,
 * with a tool that stays). Each span is the time between two marks on the monotonic clock:
 *
 *   accept       the dispatch request arrived → the job was taken (signature, body, parse)
 *   prepare      taken → `POST /prompt` sent (policy, model files, inputs, rewrite)
 *   submit       `POST /prompt` sent → ComfyUI answered
 *   comfy_queue  ComfyUI answered → `execution_start` (waiting behind the prompts queued before it)
 *   execution    `execution_start` → ComfyUI said the prompt ended
 *   collect      reading the output files
 *   upload       uploading them to the edge
 *
 * The terminal event carries them (`spans`), and `job_finished` logs them with `report`: the
 * terminal event's own delivery, which it cannot carry.
 */
import type { HostSpan, HostSpans } from "../../../src/protocol/messages.ts";

/** The moments a job attempt passes on this host; a span runs from one to the next (see above). */
export type JobMark = "received" | "accepted" | "posting" | "submitted" | "started" | "ended";

const DERIVED: ReadonlyArray<[HostSpan, JobMark, JobMark]> = [
  ["accept", "received", "accepted"],
  ["prepare", "accepted", "posting"],
  ["submit", "posting", "submitted"],
  // The WebSocket's execution_start can beat POST /prompt's reply: that is no time in the queue.
  ["comfy_queue", "submitted", "started"],
  ["execution", "started", "ended"],
];

export class JobSpans {
  private readonly marks = new Map<JobMark, number>();
  private readonly summed: HostSpans = {};

  /** Sets a mark (the first time only: a span starts at the first occurrence of its event). */
  mark(name: JobMark, at = performance.now()): void {
    if (!this.marks.has(name)) this.marks.set(name, at);
  }

  /** Adds `ms` to a span done in several pieces (one read and one upload per output). */
  add(name: "collect" | "upload", ms: number): void {
    this.summed[name] = (this.summed[name] ?? 0) + Math.max(0, ms);
  }

  /** Every span whose marks were both reached. */
  get(): HostSpans {
    const out: HostSpans = {};
    for (const [name, from, to] of DERIVED) {
      const a = this.marks.get(from);
      const b = this.marks.get(to);
      if (a !== undefined && b !== undefined) out[name] = round(Math.max(0, b - a));
    }
    for (const [name, ms] of Object.entries(this.summed) as Array<[HostSpan, number]>) out[name] = round(ms);
    return out;
  }
}

/** Hundredths of a millisecond: enough to tell sub-millisecond steps apart, short in a log line. */
export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
