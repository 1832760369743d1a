/**
 * How a followed job is shown: a progress bar on a terminal, plain lines otherwise, JSON lines with
 * `--json`. The command feeds a reporter the job's events and, at the end, the job and the files
 * written; failures of the job itself are the command's to print (on stderr, in every mode).
 */
import type { Job } from "../client.ts";
import type { JobStreamEvent } from "../watch.ts";
import type { Io } from "./io.ts";
import { JsonLinesReporter } from "./report-json.ts";
import { PlainReporter } from "./report-plain.ts";
import { ProgressBarReporter } from "./report-progress.ts";

export interface Reporter {
  /** The job to follow: `run` passes the job it submitted, `jobs watch` only the id. */
  start(id: string, submitted?: Job): void;
  event(event: JobStreamEvent): void;
  /** A remark of the CLI's own (an upload, a cancel asked for); stderr in every mode. */
  note(text: string): void;
  /** Around a question on the terminal: nothing is drawn in between. */
  pause(): void;
  resume(): void;
  /** The job as it ended, and the files its outputs were written to. */
  finished(job: Job, files: string[]): void;
  /** Stops drawing for good (following failed or was given up); the terminal as it was. */
  close(): void;
}

export function chooseReporter(io: Io, opts: { json: boolean }): Reporter {
  if (opts.json) return new JsonLinesReporter(io);
  return io.ttyOut ? new ProgressBarReporter(io) : new PlainReporter(io);
}
