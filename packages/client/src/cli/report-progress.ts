/**
 * The progress bar on a terminal (cli-progress, on stderr): while queued, the queue position and
 * when the job likely starts; while running, the whole graph's percent, the node type at work and
 * an ETA once there is progress to go on. It redraws in place and clears itself at the end; the
 * paths written go to stdout.
 */
import cliProgress from "cli-progress";
import type { Job } from "../client.ts";
import type { JobStreamEvent } from "../watch.ts";
import { Eta } from "./eta.ts";
import { duration, percentText, queueText } from "./format.ts";
import type { Io } from "./io.ts";
import type { Reporter } from "./reporter.ts";

const WIDTH = 30;

interface State {
  phase: "queued" | "running";
  position: number | null;
  startS: number | null;
  /** When the estimate was received, so the "starts in" counts down. */
  startAt: number;
  percent: number | null;
  node: string | null;
  value: number;
  max: number;
}

export class ProgressBarReporter implements Reporter {
  private readonly io: Io;
  private readonly bar: cliProgress.SingleBar;
  private jobId = "";
  private active = false;
  private paused = false;
  private closed = false;
  private state: State = { phase: "queued", position: null, startS: null, startAt: 0, percent: null, node: null, value: 0, max: 0 };
  private readonly eta = new Eta();

  constructor(io: Io) {
    this.io = io;
    this.bar = new cliProgress.SingleBar({
      stream: io.stderr,
      format: () => this.render(),
      clearOnComplete: true,
      hideCursor: true,
      fps: 8,
      barsize: WIDTH,
    });
  }

  /** The bar's line, from the state (re-rendered on every frame, so the ETA moves). */
  private render(): string {
    const s = this.state;
    const now = Date.now();
    if (s.phase === "queued") {
      const left = s.startS === null ? null : Math.max(0, s.startS - (now - s.startAt) / 1000);
      return `${this.jobId} ${queueText(s.position, left)}`;
    }
    const share = s.percent === null ? (s.max > 0 ? s.value / s.max : 0) : s.percent / 100;
    const done = Math.round(Math.min(1, Math.max(0, share)) * WIDTH);
    const eta = this.eta.seconds(now);
    const parts = [
      `${"█".repeat(done)}${"░".repeat(WIDTH - done)}`,
      (percentText(s.percent) || (s.max > 0 ? `${s.value}/${s.max}` : "")).padStart(5),
      s.node ?? "running",
      eta === undefined ? "" : `ETA ${duration(eta)}`,
    ];
    return `${this.jobId} ${parts.filter(Boolean).join(" ")}`;
  }

  private draw(): void {
    if (this.paused) return;
    if (!this.active) {
      this.bar.start(100, 0);
      this.active = true;
    }
    this.bar.update(this.state.percent ?? 0);
  }

  private stopBar(): void {
    if (this.active) this.bar.stop();
    this.active = false;
  }

  start(id: string): void {
    this.jobId = id;
    this.draw();
  }

  event(e: JobStreamEvent): void {
    const s = this.state;
    switch (e.type) {
      case "job.queued":
        this.state = { ...s, phase: "queued", position: null, startS: null, percent: null, node: null, value: 0, max: 0 };
        break;
      case "job.position":
        this.state = { ...s, position: e.data.position, startS: e.data.estimated_start_seconds, startAt: Date.now() };
        break;
      case "job.running":
        this.eta.reset();
        this.state = { ...s, phase: "running", percent: null, node: null, value: 0, max: 0 };
        break;
      case "job.progress":
        this.eta.sample(e.data.percent);
        this.state = { ...s, phase: "running", percent: e.data.percent, node: e.data.node_type, value: e.data.value, max: e.data.max };
        break;
      case "job.succeeded":
        this.eta.sample(100);
        this.state = { ...s, phase: "running", percent: 100 };
        this.draw();
        this.stopBar();
        return;
      case "job.failed":
      case "job.cancelled":
        this.stopBar();
        return;
      default:
        return;
    }
    this.draw();
  }

  note(text: string): void {
    const wasActive = this.active && !this.closed;
    this.stopBar();
    this.io.err(text);
    if (wasActive) this.draw();
  }

  pause(): void {
    this.paused = true;
    this.stopBar();
  }

  resume(): void {
    if (this.closed) return;
    this.paused = false;
    this.draw();
  }

  close(): void {
    this.closed = true;
    this.paused = true;
    this.stopBar();
  }

  finished(job: Job, files: string[]): void {
    this.stopBar();
    if (job.status === "succeeded") this.io.err(`${job.id} succeeded${job.timings.total_ms === null ? "" : ` in ${duration(job.timings.total_ms / 1000)}`}`);
    for (const f of files) this.io.out(f);
  }
}
