/**
 * The order in which a prompt's nodes run (comfy_execution/graph.py: TopologicalSort +
 * ExecutionList), re-implemented so that event order matches ComfyUI:
 * - starting from the output nodes, every uncached ancestor is pending; cached ancestors are not
 *   (so a cached output node itself still "runs" and re-sends its UI);
 * - among the ready nodes ComfyUI prefers an output node, then a node that unblocks an output
 *   node, then one two steps away, then the first ready node in discovery order.
 */
import type { Catalog } from "./nodes/catalog.ts";
import { isPlainObject } from "./py/values.ts";

type Prompt = Record<string, { class_type: string; inputs?: Record<string, unknown> }>;

/** `graph_utils.is_link`: `[str, int|float]` (Python's bool is an int too). */
export function isLink(value: unknown): value is [string, number] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && (typeof value[1] === "number" || typeof value[1] === "boolean");
}

export class ExecutionList {
  private readonly pending = new Map<string, true>();
  private readonly blockCount = new Map<string, number>();
  private readonly blocking = new Map<string, Map<string, Set<number>>>();
  private readonly prompt: Prompt;
  private readonly catalog: Catalog;
  private readonly isCached: (id: string) => boolean;
  private staged: string | undefined;

  constructor(prompt: Prompt, catalog: Catalog, isCached: (id: string) => boolean) {
    this.prompt = prompt;
    this.catalog = catalog;
    this.isCached = isCached;
  }

  addNode(start: string): void {
    const stack = [start];
    const links: Array<[string, number, string]> = [];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (this.pending.has(id)) continue;
      this.pending.set(id, true);
      this.blockCount.set(id, 0);
      this.blocking.set(id, new Map());
      const inputs = this.prompt[id]?.inputs;
      if (!isPlainObject(inputs)) continue;
      for (const value of Object.values(inputs)) {
        if (!isLink(value) || this.isCached(value[0])) continue;
        stack.push(value[0]);
        links.push([value[0], Number(value[1]), id]);
      }
    }
    for (const [from, socket, to] of links) this.addStrongLink(from, socket, to);
  }

  private addStrongLink(from: string, socket: number, to: string): void {
    if (this.isCached(from)) return;
    this.addNode(from);
    const blocked = this.blocking.get(from) as Map<string, Set<number>>;
    let sockets = blocked.get(to);
    if (!sockets) {
      sockets = new Set();
      blocked.set(to, sockets);
      this.blockCount.set(to, (this.blockCount.get(to) ?? 0) + 1);
    }
    sockets.add(socket);
  }

  isEmpty(): boolean {
    return this.pending.size === 0;
  }

  /** The next node to run, or undefined when nothing is ready (a cycle; not reachable after validation). */
  stage(): string | undefined {
    const ready = [...this.pending.keys()].filter((id) => this.blockCount.get(id) === 0);
    this.staged = this.pick(ready);
    return this.staged;
  }

  complete(): void {
    const id = this.staged;
    if (id === undefined) return;
    this.pending.delete(id);
    for (const to of this.blocking.get(id)?.keys() ?? []) this.blockCount.set(to, (this.blockCount.get(to) ?? 1) - 1);
    this.blocking.delete(id);
    this.staged = undefined;
  }

  private isOutput(id: string): boolean {
    const classType = this.prompt[id]?.class_type;
    return classType !== undefined && this.catalog.get(classType)?.outputNode === true;
  }

  private pick(ready: string[]): string | undefined {
    const first = ready.find((id) => this.isOutput(id));
    if (first !== undefined) return first;
    const blockedBy = (id: string) => [...(this.blocking.get(id)?.keys() ?? [])];
    const second = ready.find((id) => blockedBy(id).some((b) => this.isOutput(b)));
    if (second !== undefined) return second;
    const third = ready.find((id) => blockedBy(id).some((b) => blockedBy(b).some((c) => this.isOutput(c))));
    return third ?? ready[0];
  }
}
