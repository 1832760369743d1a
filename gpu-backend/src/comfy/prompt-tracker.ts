/**
 * Follows the prompts we have in ComfyUI until each one ends, from two sources:
 * - WebSocket events (fast path): `execution_start`, `progress`, and `executing {node: null}`,
 *   after which `/history/{id}` is guaranteed to hold the entry. A successful run whose every
 *   message came on one connection needs no `/history` call: ComfyUI writes the entry from the
 *   same `executed` outputs and status messages it sent us (execution.py), so the tracker
 *   assembles it (`SeenRun`); any other end (an error, an interrupt, a reconnect mid-run, a run
 *   whose start we did not see) reads `/history`. What the messages say about the
 *   prompt's nodes (`execution_cached`, `executing`, `progress`, `progress_state`, `executed`)
 *   goes to the watcher as `NodeUpdate`s, the input of overall progress (jobs/progress.ts);
 * - a poll of `/queue` then `/history/{id}` (backstop): a prompt neither queued, running nor in
 *   history has vanished (deleted by us, or ComfyUI restarted and lost its in-memory queue).
 *   `/queue` is read before `/history` so a prompt finishing between the two reads is still seen.
 * Stuck detection: a started prompt with no event for `stuckTimeoutMs` makes us reconnect the
 * socket and run the check at once (a socket can be silently unrouted, §2.4).
 *
 * A prompt is only checked once its `POST /prompt` has returned (`markSubmitted`): before that,
 * "not in the queue" means "not there yet", not "vanished".
 */
import type { Logger } from "../log.ts";
import { type ComfyClient, ComfyError } from "./client.ts";
import type { Preview } from "./preview.ts";
import { ExecutionCachedData, type HistoryEntry, ProgressData, ProgressStateData, type WsMessage } from "./schemas.ts";

export type PromptEnd = { kind: "finished"; entry: HistoryEntry } | { kind: "vanished" } | { kind: "comfy_lost"; reason: string };

/** What ComfyUI said about one node (or, for `cached` and `states`, several) of a running prompt. */
export type NodeUpdate =
  | { kind: "cached"; nodes: string[] }
  | { kind: "executing"; node: string }
  | { kind: "progress"; node: string; value: number; max: number }
  | { kind: "states"; nodes: Record<string, { state: string; value: number; max: number }> }
  | { kind: "executed"; node: string };

export interface PromptHooks {
  onStarted(): void;
  onProgress(value: number, max: number, node: string | null): void;
  /** What ComfyUI said about the prompt's nodes; for a `progress` message, called before onProgress. */
  onNodes?(update: NodeUpdate): void;
  /** A node's UI output (`executed`), e.g. the files it wrote. Best effort: the history entry is the authority. */
  onExecuted?(ui: Record<string, unknown>): void;
  /** A sampler preview (binary WebSocket frame) of this prompt. */
  onPreview?(preview: Preview): void;
  onEnded(end: PromptEnd): void;
}

interface Watch {
  hooks: PromptHooks;
  submitted: boolean;
  started: boolean;
  lastEventAt: number;
  ended: boolean;
  /** The run as the WebSocket told it, from its `execution_start` on. */
  seen?: SeenRun;
}

/** What a run's messages say, enough to stand in for its history entry if all of them came on one connection. */
interface SeenRun {
  connection: number;
  /** Another connection delivered part of the run: a message may be missing. */
  broken: boolean;
  messages: Array<[string, Record<string, unknown>]>;
  outputs: Record<string, Record<string, unknown>>;
  succeeded: boolean;
}

/** The statuses ComfyUI records in the history entry (execution.py `add_message`). */
const STATUS_MESSAGES = new Set(["execution_start", "execution_cached", "execution_success", "execution_error", "execution_interrupted"]);

export class PromptTracker {
  private readonly watches = new Map<string, Watch>();
  private readonly client: ComfyClient;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly stuckTimeoutMs: number;
  private readonly onStuck: () => Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private recheck = false;
  /** The prompt ComfyUI said it is executing: where a preview without metadata belongs. */
  private executing: string | undefined;

  constructor(opts: { client: ComfyClient; log: Logger; pollMs: number; stuckTimeoutMs: number; onStuck: () => Promise<void> }) {
    this.client = opts.client;
    this.log = opts.log;
    this.pollMs = opts.pollMs;
    this.stuckTimeoutMs = opts.stuckTimeoutMs;
    this.onStuck = opts.onStuck;
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.watches.size;
  }

  /** Register before posting, so events that beat the HTTP reply are not lost. */
  watch(promptId: string, hooks: PromptHooks): void {
    this.watches.set(promptId, { hooks, submitted: false, started: false, lastEventAt: Date.now(), ended: false });
  }

  markSubmitted(promptId: string): void {
    const w = this.watches.get(promptId);
    if (w) {
      w.submitted = true;
      w.lastEventAt = Date.now();
    }
  }

  unwatch(promptId: string): void {
    this.watches.delete(promptId);
  }

  /** ComfyUI is gone with its queue: none of our prompts will ever report. */
  failAll(reason: string): void {
    for (const [id, w] of this.watches) if (w.submitted) this.end(id, w, { kind: "comfy_lost", reason });
  }

  handleMessage(message: WsMessage, connection = 0): void {
    const promptId = message.data.prompt_id;
    if (typeof promptId !== "string") return;
    if (message.type === "execution_start" || message.type === "executing") {
      this.executing = message.type === "executing" && message.data.node === null ? undefined : promptId;
    }
    const w = this.watches.get(promptId);
    if (!w || w.ended) return;
    w.lastEventAt = Date.now();
    this.record(w, message, connection);
    switch (message.type) {
      case "execution_start":
        this.markStarted(w);
        break;
      case "execution_cached": {
        const c = ExecutionCachedData.safeParse(message.data);
        if (c.success) w.hooks.onNodes?.({ kind: "cached", nodes: c.data.nodes });
        break;
      }
      case "progress": {
        const p = ProgressData.safeParse(message.data);
        if (!p.success) break;
        const node = p.data.node ?? null;
        if (node !== null) w.hooks.onNodes?.({ kind: "progress", node, value: p.data.value, max: p.data.max });
        w.hooks.onProgress(p.data.value, p.data.max, node);
        break;
      }
      case "progress_state": {
        const s = ProgressStateData.safeParse(message.data);
        if (s.success) w.hooks.onNodes?.({ kind: "states", nodes: s.data.nodes });
        break;
      }
      case "executing": {
        const node = message.data.node;
        if (node === null) {
          const entry = seenEntry(w.seen, connection);
          if (entry) this.end(promptId, w, { kind: "finished", entry });
          else void this.fetchEnd(promptId);
          break;
        }
        this.markStarted(w);
        if (typeof node === "string") w.hooks.onNodes?.({ kind: "executing", node });
        break;
      }
      case "executed": {
        const ui = message.data.output;
        if (typeof ui === "object" && ui !== null && !Array.isArray(ui)) w.hooks.onExecuted?.(ui as Record<string, unknown>);
        if (typeof message.data.node === "string") w.hooks.onNodes?.({ kind: "executed", node: message.data.node });
        break;
      }
      default:
        break;
    }
  }

  handlePreview(preview: Preview): void {
    const promptId = preview.promptId ?? this.executing;
    const w = promptId === undefined ? undefined : this.watches.get(promptId);
    if (w && !w.ended) w.hooks.onPreview?.(preview);
  }

  /** One `/queue` + `/history` pass over every submitted prompt; concurrent calls share a pass. */
  checkNow(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.recheck = false;
        await this.checkOnce();
      } while (this.recheck);
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private tick(): void {
    const now = Date.now();
    let stuck = false;
    for (const [id, w] of this.watches) {
      if (w.started && !w.ended && now - w.lastEventAt > this.stuckTimeoutMs) {
        this.log.warn("prompt_stuck", { prompt_id: id, silent_ms: now - w.lastEventAt });
        w.lastEventAt = now;
        stuck = true;
      }
    }
    if (stuck)
      void this.onStuck()
        .catch(() => {})
        .then(() => this.checkNow());
    else if ([...this.watches.values()].some((w) => w.submitted && !w.ended)) void this.checkNow();
  }

  private async checkOnce(): Promise<void> {
    const candidates = [...this.watches.entries()].filter(([, w]) => w.submitted && !w.ended);
    if (candidates.length === 0) return;
    try {
      const queue = await this.client.queue();
      const running = new Set(queue.queue_running.map((i) => i.promptId));
      const pending = new Set(queue.queue_pending.map((i) => i.promptId));
      for (const [id, w] of candidates) {
        if (running.has(id)) this.markStarted(w);
        if (running.has(id) || pending.has(id)) continue;
        const entry = await this.client.history(id);
        if (w.ended) continue;
        this.end(id, w, entry ? { kind: "finished", entry } : { kind: "vanished" });
      }
    } catch (err) {
      // ComfyUI unreachable: the link notices and, if it lasts, reports it lost. Anything else is
      // a bug, logged loudly; the next tick tries again (a check must never crash the process).
      if (err instanceof ComfyError) this.log.debug("prompt_check_failed", { error: err });
      else this.log.error("prompt_check_crashed", { error: err as Error, stack: (err as Error).stack });
    }
  }

  private async fetchEnd(promptId: string): Promise<void> {
    try {
      const entry = await this.client.history(promptId);
      const w = this.watches.get(promptId);
      if (!w || w.ended) return;
      if (entry) this.end(promptId, w, { kind: "finished", entry });
      else void this.checkNow();
    } catch (err) {
      this.log.debug("history_fetch_failed", { prompt_id: promptId, error: err as Error });
      void this.checkNow();
    }
  }

  /** Keeps what the history entry would hold of this message (see SeenRun). */
  private record(w: Watch, message: WsMessage, connection: number): void {
    if (message.type === "execution_start") w.seen = { connection, broken: false, messages: [], outputs: {}, succeeded: false };
    const seen = w.seen;
    if (!seen) return;
    if (seen.connection !== connection) seen.broken = true;
    if (STATUS_MESSAGES.has(message.type)) seen.messages.push([message.type, message.data]);
    if (message.type === "execution_success") seen.succeeded = true;
    const ui = message.data.output;
    if (message.type === "executed" && typeof message.data.node === "string" && typeof ui === "object" && ui !== null && !Array.isArray(ui))
      seen.outputs[message.data.node] = ui as Record<string, unknown>;
  }

  private markStarted(w: Watch): void {
    if (w.started) return;
    w.started = true;
    w.hooks.onStarted();
  }

  private end(id: string, w: Watch, end: PromptEnd): void {
    if (w.ended) return;
    w.ended = true;
    this.watches.delete(id);
    w.hooks.onEnded(end);
  }
}

/** The history entry of a run that succeeded with every message on `connection`; else undefined (read /history). */
function seenEntry(seen: SeenRun | undefined, connection: number): HistoryEntry | undefined {
  if (!seen || seen.broken || seen.connection !== connection || !seen.succeeded) return undefined;
  return { outputs: seen.outputs, status: { status_str: "success", completed: true, messages: seen.messages } };
}
