/**
 * Optional ComfyUI child process (COMFY_COMMAND + COMFY_ARGS): start it, let the link probe
 * `/system_stats` for readiness, and when it dies tell the link at once (its in-memory queue died
 * with it, so its jobs fail now with the retryable `host_error`) and start it again after a
 * backoff that doubles while it keeps dying young and resets once it has stayed up.
 *
 * A ComfyUI that never becomes ready within COMFY_START_TIMEOUT_MS, or that stops answering while
 * it runs (the link reports it lost), is killed with SIGKILL — a hung Python process may not heed
 * SIGTERM — and restarted the same way. Stop sends SIGTERM, then SIGKILL after a grace.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { sleep } from "./lib/async.ts";
import type { Logger } from "./log.ts";

/** A process that ran at least this long was healthy: the next restart starts from the base backoff. */
const HEALTHY_UPTIME_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export interface SupervisorOptions {
  command: string;
  args: string[];
  cwd: string | undefined;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs: number;
  backoffMs: number;
  backoffMaxMs: number;
  log: Logger;
  /** Called when the child exits (or is killed) while it should have been running. */
  onExit(reason: string): void;
  onRestart(): void;
  isReady(): boolean;
}

export class Supervisor {
  private readonly opts: SupervisorOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private backoff: number;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  restarts = 0;

  constructor(opts: SupervisorOptions) {
    this.opts = opts;
    this.backoff = opts.backoffMs;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Kills a running child (hung or unready); the loop restarts it. */
  kill(reason: string): void {
    if (!this.child || this.child.exitCode !== null) return;
    this.opts.log.warn("comfy_kill", { pid: this.child.pid, reason });
    this.child.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopController.abort(new Error("stopped"));
    const child = this.child;
    if (child && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await this.exited;
      clearTimeout(timer);
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const startedAt = Date.now();
      const reason = await this.runOnce();
      if (this.stopping) return;
      const uptime = Date.now() - startedAt;
      if (uptime >= HEALTHY_UPTIME_MS) this.backoff = this.opts.backoffMs;
      this.opts.log.error("comfy_exited", { reason, uptime_ms: uptime, restart_in_ms: this.backoff });
      this.opts.onExit(reason);
      try {
        await sleep(this.backoff, this.stopController.signal);
      } catch {
        return;
      }
      this.backoff = Math.min(this.opts.backoffMaxMs, this.backoff * 2);
      this.restarts++;
      this.opts.onRestart();
    }
  }

  /** Runs one child until it exits; resolves with why. */
  private runOnce(): Promise<string> {
    const { command, args, cwd, log } = this.opts;
    const child = spawn(command, args, { cwd, env: this.opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    log.info("comfy_spawned", { pid: child.pid, command, args });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => log.debug("comfy_output", { line: line.slice(0, 2000) }));
    }
    const readyTimer = setTimeout(() => {
      if (!this.opts.isReady()) this.kill(`not ready after ${this.opts.startTimeoutMs} ms`);
    }, this.opts.startTimeoutMs);
    this.exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
    return new Promise((resolve) => {
      child.once("error", (err) => {
        clearTimeout(readyTimer);
        resolve(`could not start: ${err.message}`);
      });
      child.once("close", (code, signal) => {
        clearTimeout(readyTimer);
        resolve(signal ? `killed by ${signal}` : `exit code ${code}`);
      });
    });
  }
}
