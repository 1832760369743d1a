/**
 * ComfyUI's PromptQueue (execution.py): the pending heap, the running item, the history and
 * the flags set by `/free`. All in memory, as in ComfyUI: a restart loses everything.
 *
 * Pinned behaviour: items are `[number, prompt_id, prompt, extra_data, outputs_to_execute]`
 * ordered by number then prompt_id; the running item stays in `queue_running` until its
 * history entry is written; deleting removes silently; every change calls `onUpdated` (the
 * `status` broadcast); history keeps insertion order, at most 10 000 (+1) entries, and
 * `auth_token_comfy_org`/`api_key_comfy_org` are stripped from stored `extra_data`.
 */
import { PyHeap } from "./heap.ts";

export type QueueItem = [number: number, promptId: string, prompt: Record<string, unknown>, extraData: Record<string, unknown>, outputs: string[]];

export interface HistoryStatus {
  status_str: "success" | "error";
  completed: boolean;
  messages: Array<[string, Record<string, unknown>]>;
}

/** `outputs` and `meta` are Maps so node ids keep execution order when serialised. */
export interface HistoryEntry {
  prompt: QueueItem;
  outputs: Map<string, Record<string, unknown[]>>;
  status: HistoryStatus | null;
  meta: Map<string, unknown>;
}

const MAXIMUM_HISTORY_SIZE = 10_000;
const SENSITIVE_EXTRA_DATA_KEYS = ["auth_token_comfy_org", "api_key_comfy_org"];

function itemLess(a: QueueItem, b: QueueItem): boolean {
  if (a[0] !== b[0]) return a[0] < b[0];
  return a[1] < b[1];
}

export class PromptQueue {
  private readonly heap = new PyHeap<QueueItem>(itemLess);
  private readonly running = new Map<number, QueueItem>();
  private readonly history = new Map<string, HistoryEntry>();
  private taskCounter = 0;
  private flags: Record<string, unknown> = {};
  private waiters: Array<() => void> = [];
  private readonly onUpdated: () => void;

  constructor(onUpdated: () => void) {
    this.onUpdated = onUpdated;
  }

  put(item: QueueItem): void {
    this.heap.push(item);
    this.onUpdated();
    this.wake();
  }

  /** Waits for an item (or for `wake`), moves it to running and returns it with its task id. */
  async get(signal: AbortSignal): Promise<{ item: QueueItem; taskId: number } | undefined> {
    while (this.heap.length === 0) {
      if (signal.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.waiters.push(done);
        signal.addEventListener("abort", done, { once: true });
      });
      if (signal.aborted) return undefined;
      if (this.heap.length === 0 && Object.keys(this.flags).length > 0) return undefined;
    }
    const item = this.heap.pop() as QueueItem;
    const taskId = this.taskCounter++;
    this.running.set(taskId, structuredClone(item));
    this.onUpdated();
    return { item, taskId };
  }

  taskDone(taskId: number, result: { outputs: HistoryEntry["outputs"]; meta: HistoryEntry["meta"] }, status: HistoryStatus | null): void {
    const prompt = this.running.get(taskId);
    if (!prompt) return;
    this.running.delete(taskId);
    if (this.history.size > MAXIMUM_HISTORY_SIZE) {
      const oldest = this.history.keys().next().value;
      if (oldest !== undefined) this.history.delete(oldest);
    }
    for (const key of SENSITIVE_EXTRA_DATA_KEYS) delete prompt[3][key];
    // Key order as ComfyUI's dict: prompt, outputs, status, then meta from the executor.
    this.history.set(prompt[1], { prompt, outputs: result.outputs, status: structuredClone(status), meta: result.meta });
    this.onUpdated();
  }

  /** `(running, pending)`; pending is the raw heap array, as ComfyUI returns it. */
  currentQueue(): { running: QueueItem[]; pending: QueueItem[] } {
    return { running: [...this.running.values()], pending: [...this.heap.items] };
  }

  tasksRemaining(): number {
    return this.heap.length + this.running.size;
  }

  wipeQueue(): void {
    this.heap.clear();
    this.onUpdated();
  }

  /** Removes the first pending item matching `predicate`. */
  deleteQueueItem(predicate: (item: QueueItem) => boolean): boolean {
    const index = this.heap.items.findIndex(predicate);
    if (index < 0) return false;
    // ComfyUI wipes (one status) and then reports again when it removes the last item.
    if (this.heap.length === 1) this.wipeQueue();
    else this.heap.removeAt(index);
    this.onUpdated();
    return true;
  }

  /** `get_history`: one id (→ `{}` when unknown), or a window of the dict in completion order. */
  getHistory(options: { promptId?: string; maxItems?: number; offset?: number }): Map<string, HistoryEntry> {
    if (options.promptId !== undefined) {
      const entry = this.history.get(options.promptId);
      return entry ? new Map([[options.promptId, structuredClone(entry)]]) : new Map();
    }
    const { maxItems } = options;
    let offset = options.offset ?? -1;
    if (offset < 0 && maxItems !== undefined) offset = this.history.size - maxItems;
    // A Map keeps completion order even for ids that look like integers.
    const out = new Map<string, HistoryEntry>();
    let i = 0;
    for (const [id, entry] of this.history) {
      if (i >= offset) {
        out.set(id, entry);
        if (maxItems !== undefined && out.size >= maxItems) break;
      }
      i++;
    }
    return out;
  }

  wipeHistory(): void {
    this.history.clear();
  }

  deleteHistoryItem(promptId: string): void {
    this.history.delete(promptId);
  }

  setFlag(name: string, value: unknown): void {
    this.flags[name] = value;
    this.wake();
  }

  takeFlags(): Record<string, unknown> {
    const flags = this.flags;
    this.flags = {};
    return flags;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
