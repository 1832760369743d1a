/**
 * Plain lines on stderr when stderr is not a terminal (a log, CI): one line per change worth
 * reading (queued, position, running, a new node or every 10 %, an output), never a redraw. The
 * paths written go to stdout, one a line.
 */
import type { Job } from "../client.ts";
import type { JobStreamEvent } from "../watch.ts";
import { Eta } from "./eta.ts";
import { bytes, duration, percentText, queueText } from "./format.ts";
import type { Io } from "./io.ts";
import type { Reporter } from "./reporter.ts";

export class PlainReporter implements Reporter {
  private readonly io: Io;
  private jobId = "";
  private lastQueue = "";
  private lastNode: string | null = null;
  private lastBucket = -1;
  private readonly eta = new Eta();

  constructor(io: Io) {
    this.io = io;
  }

  private line(text: string): void {
    this.io.err(`${this.jobId} ${text}`);
  }

  start(id: string, submitted?: Job): void {
    this.jobId = id;
    if (submitted) this.line(`submitted to pool ${submitted.pool}`);
  }

  event(e: JobStreamEvent): void {
    switch (e.type) {
      case "job.queued":
        this.lastQueue = "";
        this.line(e.data.reason === "retry" ? `queued again for attempt ${e.data.attempt + 1}` : "queued");
        break;
      case "job.position": {
        const text = queueText(e.data.position, e.data.estimated_start_seconds);
        if (text !== this.lastQueue) this.line(text);
        this.lastQueue = text;
        break;
      }
      case "job.running":
        this.eta.reset();
        this.lastNode = null;
        this.lastBucket = -1;
        this.line(e.data.attempt > 1 ? `running (attempt ${e.data.attempt})` : "running");
        break;
      case "job.progress": {
        this.eta.sample(e.data.percent);
        const bucket = e.data.percent === null ? -1 : Math.floor(e.data.percent / 10);
        if (e.data.node_type === this.lastNode && bucket <= this.lastBucket) break;
        this.lastNode = e.data.node_type;
        this.lastBucket = Math.max(bucket, this.lastBucket);
        const eta = this.eta.seconds();
        const parts = [percentText(e.data.percent) || `${e.data.value}/${e.data.max}`, e.data.node_type ?? "", eta === undefined ? "" : `ETA ${duration(eta)}`];
        this.line(parts.filter(Boolean).join(" "));
        break;
      }
      case "job.output":
        this.line(`output ${e.data.name} (${e.data.content_type}, ${bytes(e.data.size)})`);
        break;
      default:
        break;
    }
  }

  note(text: string): void {
    this.io.err(text);
  }

  pause(): void {}
  resume(): void {}
  close(): void {}

  finished(job: Job, files: string[]): void {
    if (job.status === "succeeded") this.line(`succeeded${job.timings.total_ms === null ? "" : ` in ${duration(job.timings.total_ms / 1000)}`}`);
    for (const f of files) this.io.out(f);
  }
}
