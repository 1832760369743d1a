/**
 * `--json`: one JSON object a line on stdout, for scripts and `jq`. Each event of the job is
 * `{"event": <type>, "job_id", "event_id", ...its data}`; the last line is
 * `{"event": "job", "job": <the job>, "files": [<paths written>]}`.
 */
import type { Job } from "../client.ts";
import type { JobStreamEvent } from "../watch.ts";
import type { Io } from "./io.ts";
import type { Reporter } from "./reporter.ts";

export class JsonLinesReporter implements Reporter {
  private readonly io: Io;
  private jobId = "";

  constructor(io: Io) {
    this.io = io;
  }

  start(id: string): void {
    this.jobId = id;
  }

  event(e: JobStreamEvent): void {
    this.io.out(JSON.stringify({ event: e.type, job_id: this.jobId, event_id: e.id, ...e.data }));
  }

  note(text: string): void {
    this.io.err(text);
  }

  pause(): void {}
  resume(): void {}
  close(): void {}

  finished(job: Job, files: string[]): void {
    this.io.out(JSON.stringify({ event: "job", job, files }));
  }
}
