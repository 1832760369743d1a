// Where a job's time went, for the benchmarks that print a `timings` breakdown: the submit's
// `Server-Timing` header (src/lib/spans.ts) joined, by job id, with the edge's structured log lines
// `job_dispatched` (the Dispatcher's spans) and `job_reported` (the host's, src/protocol HostSpans).
import { percentile } from "./stats.ts";

export interface JobTrace {
  /** succeeded_at − created_at (server timestamps). */
  total: number;
  /** started_at − created_at: until the Dispatcher wrote the dispatch. */
  queued: number;
  /** The submit's Server-Timing steps. */
  submit: Record<string, number>;
}

/** `a;dur=1, b;dur=2.5` → `{a: 1, b: 2.5}`. */
export function serverTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of (header ?? "").split(",")) {
    const [name, ...params] = entry.trim().split(";");
    const dur = params.find((p) => p.trim().startsWith("dur="));
    if (name && dur) out[name] = Number(dur.trim().slice(4));
  }
  return out;
}

/** The JSON log lines of `event` in a process's output, by job id. */
export function logLinesByJob(logs: string, event: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const line of logs.split("\n")) {
    const at = line.indexOf('{"level"');
    if (at < 0 || !line.includes(`"event":"${event}"`)) continue;
    try {
      const parsed = JSON.parse(line.slice(at)) as Record<string, unknown>;
      if (typeof parsed.job_id === "string") out.set(parsed.job_id, parsed);
    } catch {
      // a line cut by the log's size cap
    }
  }
  return out;
}

function p50(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(percentile(sorted, 50) * 100) / 100;
}

/** The p50 of every span over the traced jobs, grouped as submit, dispatch and host. */
export function breakdown(traces: Map<string, JobTrace>, edgeLogs: string) {
  const dispatched = logLinesByJob(edgeLogs, "job_dispatched");
  const reported = logLinesByJob(edgeLogs, "job_reported");
  const collect = (pick: (id: string, t: JobTrace) => Record<string, unknown> | undefined) => {
    const spans = new Map<string, number[]>();
    for (const [id, t] of traces) {
      for (const [name, ms] of Object.entries(pick(id, t) ?? {})) {
        if (typeof ms !== "number") continue;
        spans.set(name, [...(spans.get(name) ?? []), ms]);
      }
    }
    return Object.fromEntries([...spans].map(([name, xs]) => [name, p50(xs)]));
  };
  const traced = [...traces.keys()].filter((id) => dispatched.has(id) && reported.has(id)).length;
  return {
    traced_in_logs: traced,
    total_p50_ms: p50([...traces.values()].map((t) => t.total)),
    queued_p50_ms: p50([...traces.values()].map((t) => t.queued)),
    submit_ms: collect((_, t) => t.submit),
    dispatch_ms: collect((id) => dispatched.get(id)?.spans as Record<string, unknown> | undefined),
    host_ms: collect((id) => reported.get(id)?.host as Record<string, unknown> | undefined),
  };
}
