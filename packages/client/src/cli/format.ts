/** Text for people: durations, sizes, a job's error, a table. Pure functions. */
import type { Job } from "../client.ts";

/** `0.4s`, `7s`, `1m 05s`, `2h 03m`. */
export function duration(seconds: number): string {
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

/** `position 3, starts in ~12s` (position 0 is "next"). */
export function queueText(position: number | null | undefined, startS: number | null | undefined): string {
  const where = position === null || position === undefined ? "queued" : position === 0 ? "queued, next" : `queued, position ${position}`;
  return startS === null || startS === undefined ? where : `${where}, starts in ~${duration(startS)}`;
}

export function percentText(percent: number | null | undefined): string {
  return percent === null || percent === undefined ? "" : `${percent.toFixed(percent < 10 ? 1 : 0)}%`;
}

/** `execution_error: ValueError: boom` — what a failed or cancelled job says. */
export function jobErrorText(job: Pick<Job, "status" | "error">): string {
  return job.error ? `${job.error.code}: ${job.error.message}` : job.status;
}

/** Columns padded to their widest cell; the last one is not padded. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "));
}

/** A job as `key: value` lines (`jobs get`). */
export function jobLines(job: Job): string[] {
  const lines = [`id: ${job.id}`, `status: ${job.status}`, `pool: ${job.pool}`, `user: ${job.user_id}`, `created: ${job.created_at}`];
  if (job.started_at) lines.push(`started: ${job.started_at}`);
  if (job.finished_at) lines.push(`finished: ${job.finished_at}`);
  if (job.status === "queued") lines.push(`queue: ${queueText(job.queue_position, job.estimated_start_seconds)}`);
  if (job.waiting_for) lines.push(`waiting for: ${job.waiting_for.reason}`);
  if (job.status === "running" && job.progress)
    lines.push(`progress: ${[percentText(job.progress.percent), job.progress.node_type].filter(Boolean).join(" ")}`);
  if (job.cancel_requested_at && job.status === "running") lines.push(`cancel requested: ${job.cancel_requested_at}`);
  if (job.error) lines.push(`error: ${jobErrorText(job)}`);
  for (const o of job.outputs) lines.push(`output: ${o.name} (${o.content_type}, ${bytes(o.size)}) ${o.url}`);
  return lines;
}
