/**
 * The overall progress of one attempt's prompt, `job.progress.percent` (issue 15): a pure fold over
 * what ComfyUI says about the prompt's nodes (NodeUpdate, from the prompt tracker).
 *
 * - Counted: the nodes ComfyUI executes, i.e. every output node (the catalog's output classes) and
 *   everything it depends on through links; a workflow with no output node we know of counts all
 *   of its nodes. Each counts equally.
 * - A node's share is 1 once it is done (reported by `execution_cached`, `finished` in
 *   `progress_state`, or `executed`) and value/max while it runs (`progress`, `progress_state`).
 *   Without `progress_state` (releases before it) a node is taken as done when the next one starts
 *   executing: ComfyUI runs one node at a time.
 * - Node ids the workflow lacks (nodes expanded at run time) are not counted.
 *
 * Invariants: the percent never goes down (a node's share only grows, and the result never drops
 * below what it was), and it stays below 100 — only the prompt's end says it is done.
 */
import type { NodeUpdate } from "../comfy/prompt-tracker.ts";

/** The highest percent reported while the prompt runs. */
export const MAX_RUNNING_PERCENT = 99.9;

type NodeLike = { class_type?: unknown; inputs?: unknown };

/** The nodes ComfyUI executes for this workflow: its output nodes and their dependencies (else all). */
export function executedNodes(workflow: Record<string, unknown>, outputClasses: ReadonlySet<string>): Set<string> {
  const nodeOf = (id: string): NodeLike | undefined => {
    const node = workflow[id];
    return typeof node === "object" && node !== null && !Array.isArray(node) ? (node as NodeLike) : undefined;
  };
  const outputs = Object.keys(workflow).filter((id) => {
    const cls = nodeOf(id)?.class_type;
    return typeof cls === "string" && outputClasses.has(cls);
  });
  if (outputs.length === 0) return new Set(Object.keys(workflow).filter((id) => nodeOf(id) !== undefined));
  const found = new Set<string>();
  const todo = [...outputs];
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (found.has(id)) continue;
    found.add(id);
    const inputs = nodeOf(id)?.inputs;
    if (typeof inputs !== "object" || inputs === null) continue;
    for (const value of Object.values(inputs)) {
      // A link is [node id, output index].
      if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "number" && nodeOf(value[0])) todo.push(value[0]);
    }
  }
  return found;
}

export class PromptProgress {
  private readonly classes = new Map<string, string>();
  private readonly counted: ReadonlySet<string>;
  /** Share of each counted node that has started or is done, 0..1. */
  private readonly shares = new Map<string, number>();
  /** The node ComfyUI last said it is executing. */
  private executing: string | undefined;
  /** ComfyUI sends progress_state: it says which nodes are finished, no guessing from order. */
  private hasStates = false;
  private highest = 0;

  constructor(workflow: Record<string, unknown>, outputClasses: ReadonlySet<string>) {
    for (const [id, node] of Object.entries(workflow)) {
      const cls = typeof node === "object" && node !== null ? (node as NodeLike).class_type : undefined;
      if (typeof cls === "string") this.classes.set(id, cls);
    }
    this.counted = executedNodes(workflow, outputClasses);
  }

  apply(update: NodeUpdate): void {
    switch (update.kind) {
      case "cached":
        for (const node of update.nodes) this.share(node, 1);
        break;
      case "executing":
        if (!this.hasStates && this.executing !== undefined && this.executing !== update.node) this.share(this.executing, 1);
        this.executing = update.node;
        this.share(update.node, 0);
        break;
      case "progress":
        this.share(update.node, fraction(update.value, update.max));
        break;
      case "states":
        this.hasStates = true;
        for (const [node, s] of Object.entries(update.nodes)) this.share(node, s.state === "finished" ? 1 : fraction(s.value, s.max));
        break;
      case "executed":
        this.share(update.node, 1);
        break;
    }
    if (this.counted.size === 0) return;
    let sum = 0;
    for (const share of this.shares.values()) sum += share;
    const now = Math.min(MAX_RUNNING_PERCENT, Math.floor((1000 * sum) / this.counted.size) / 10);
    this.highest = Math.max(this.highest, now);
  }

  /** 0 ≤ percent ≤ MAX_RUNNING_PERCENT, one decimal, never lower than before. */
  get percent(): number {
    return this.highest;
  }

  /** The class_type of a node of the dispatched workflow (null for none or one it lacks). */
  classOf(node: string | null): string | null {
    return node === null ? null : (this.classes.get(node) ?? null);
  }

  private share(node: string, value: number): void {
    if (!this.counted.has(node)) return;
    this.shares.set(node, Math.max(this.shares.get(node) ?? 0, value));
  }
}

function fraction(value: number, max: number): number {
  if (!(max > 0) || !Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value / max));
}
