/**
 * Whether ComfyUI is usable, and the loop that keeps it that way: probe `/system_stats` until it
 * answers (ComfyUI binds its port only after loading every node, so the first answer means
 * ready), open the WebSocket, read `/object_info` (which classes are output nodes, which inputs
 * take uploaded files, which classes are API nodes), check that ComfyUI's folders are the ones
 * configured (`verify`), then follow; when the socket closes, reconnect at once, and if that
 * fails go back to probing.
 *
 * States: `starting` (never ready yet, or restarted by the supervisor) → `ready` ⇄ `down`.
 * Hooks tell the job side what happened: `ready` (first time, after being down, or after a
 * reconnect: events may have been missed, so the tracker re-checks every prompt) and `lost`
 * (ComfyUI's queue is gone or unreachable too long: its prompts will never report).
 */
import { type FileInputs, fileInputsFromObjectInfo, type ObjectInfoEntry } from "../../../src/protocol/node-policy.ts";
import { sleep } from "../lib/async.ts";
import type { Logger } from "../log.ts";
import type { ComfyClient } from "./client.ts";
import type { WsFollower } from "./follower.ts";

export type LinkState = "starting" | "ready" | "down";
export type ReadyKind = "first" | "recovered" | "reconnected";

export interface LinkHooks {
  onReady(kind: ReadyKind): void;
  onLost(reason: string): void;
  onStateChange?(state: LinkState): void;
}

const PROBE_MIN_MS = 100;
const PROBE_MAX_MS = 2_000;
/** A ComfyUI whose folders are not the configured ones is retried this often (and logged each time). */
const MISCONFIGURED_RETRY_MS = 10_000;

/** What gpu-backend needs to know of ComfyUI's node classes, from `/object_info`. */
export interface ComfyCatalog {
  /** Class types whose nodes are output nodes. */
  outputNodes: ReadonlySet<string>;
  /** Inputs marked as file uploads (`image_upload` …): file inputs, whatever the config says. */
  uploadInputs: FileInputs;
  /** Each class's `python_module` (API nodes are told apart by it). */
  modules: Readonly<Record<string, ObjectInfoEntry>>;
}

export function catalogOf(info: Readonly<Record<string, ObjectInfoEntry & { output_node?: boolean }>>): ComfyCatalog {
  const modules: Record<string, ObjectInfoEntry> = {};
  for (const [name, entry] of Object.entries(info)) if (typeof entry.python_module === "string") modules[name] = { python_module: entry.python_module };
  return {
    outputNodes: new Set(
      Object.entries(info)
        .filter(([, n]) => n.output_node)
        .map(([name]) => name),
    ),
    uploadInputs: fileInputsFromObjectInfo(info),
    modules,
  };
}

export class ComfyLink {
  state: LinkState = "starting";
  /** From the last `/object_info` read (empty until ComfyUI was first ready). */
  catalog: ComfyCatalog = { outputNodes: new Set(), uploadInputs: new Map(), modules: {} };
  /** The last `/object_info` as read (what the host publishes to the edge; empty until first ready). */
  objectInfo: Readonly<Record<string, Record<string, unknown>>> = {};
  /** Why ComfyUI, though it answers, is not used (its folders are not the configured ones). */
  problem: string | undefined;
  private readonly client: ComfyClient;
  private readonly follower: WsFollower;
  private readonly hooks: LinkHooks;
  private readonly log: Logger;
  private readonly lostTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly verify: (() => Promise<string | undefined>) | undefined;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private everReady = false;
  private lostTimer: NodeJS.Timeout | undefined;

  /**
   * `verify` runs before each ready (first contact, recovery): a problem string keeps ComfyUI
   * from being used (logged, retried); a throw counts as a failed connect.
   */
  constructor(opts: {
    client: ComfyClient;
    follower: WsFollower;
    hooks: LinkHooks;
    log: Logger;
    lostTimeoutMs: number;
    requestTimeoutMs: number;
    verify?: () => Promise<string | undefined>;
  }) {
    this.verify = opts.verify;
    this.client = opts.client;
    this.follower = opts.follower;
    this.hooks = opts.hooks;
    this.log = opts.log;
    this.lostTimeoutMs = opts.lostTimeoutMs;
    this.requestTimeoutMs = opts.requestTimeoutMs;
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => this.log.error("comfy_link_failed", { error: err as Error }));
  }

  async stop(): Promise<void> {
    this.stopController.abort(new Error("stopped"));
    this.clearLostTimer();
    await this.follower.close();
    await this.loop;
  }

  /** Stuck detection: drop the socket and open a new one (the loop reconnects). */
  async reconnect(): Promise<void> {
    await this.follower.close();
  }

  /**
   * The supervised process died: whatever it had queued is gone now, not after a timeout. The
   * loop keeps probing until the restarted process answers.
   */
  markLost(reason: string): void {
    this.setState(this.everReady ? "down" : "starting");
    this.clearLostTimer();
    this.hooks.onLost(reason);
    void this.follower.close();
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    let delay = PROBE_MIN_MS;
    while (!this.stopped) {
      if (!(await this.probe())) {
        await sleep(delay, this.stopController.signal).catch(() => {});
        delay = Math.min(PROBE_MAX_MS, delay * 2);
        continue;
      }
      delay = PROBE_MIN_MS;
      try {
        await this.follower.connect(this.requestTimeoutMs);
        const info = await this.client.objectInfo();
        this.catalog = catalogOf(info as Record<string, ObjectInfoEntry & { output_node: boolean }>);
        this.objectInfo = info as Record<string, Record<string, unknown>>;
        const problem = await this.verify?.();
        this.problem = problem;
        if (problem !== undefined) {
          this.log.error("comfy_misconfigured", { problem });
          await this.follower.close();
          await sleep(MISCONFIGURED_RETRY_MS, this.stopController.signal).catch(() => {});
          continue;
        }
      } catch (err) {
        this.log.warn("comfy_connect_failed", { error: err as Error });
        await this.follower.close();
        await sleep(PROBE_MIN_MS, this.stopController.signal).catch(() => {});
        continue;
      }
      if (this.stopped) break;
      const kind: ReadyKind = this.everReady ? "recovered" : "first";
      this.everReady = true;
      this.clearLostTimer();
      this.setState("ready");
      this.log.info("comfy_ready", { kind, classes: Object.keys(this.catalog.modules).length, output_node_classes: this.catalog.outputNodes.size });
      this.hooks.onReady(kind);
      await this.follow();
      if (this.stopped) break;
      this.setState("down");
      this.log.warn("comfy_down");
      this.armLostTimer();
    }
  }

  /** Stays connected, reconnecting at once after a drop; returns when a reconnect fails. */
  private async follow(): Promise<void> {
    for (;;) {
      await this.follower.waitClosed();
      if (this.stopped || this.state !== "ready") return;
      try {
        await this.follower.connect(this.requestTimeoutMs);
      } catch (err) {
        this.log.warn("comfy_reconnect_failed", { error: err as Error });
        return;
      }
      this.log.info("comfy_reconnected");
      this.hooks.onReady("reconnected");
    }
  }

  private async probe(): Promise<boolean> {
    try {
      await this.client.systemStats(Math.min(this.requestTimeoutMs, 5_000));
      return true;
    } catch {
      return false;
    }
  }

  private armLostTimer(): void {
    this.clearLostTimer();
    this.lostTimer = setTimeout(() => {
      this.lostTimer = undefined;
      if (this.state === "ready" || this.stopped) return;
      this.log.error("comfy_lost", { after_ms: this.lostTimeoutMs });
      this.hooks.onLost("unreachable");
    }, this.lostTimeoutMs);
    this.lostTimer.unref();
  }

  private clearLostTimer(): void {
    if (this.lostTimer) clearTimeout(this.lostTimer);
    this.lostTimer = undefined;
  }

  private setState(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    this.hooks.onStateChange?.(state);
  }
}
