/**
 * ComfyUI's node output cache (the "classic" HierarchicalCache keyed by input signature).
 *
 * A node's signature is its class, its IS_CHANGED value, its constant inputs and, recursively,
 * the signatures of its ancestors (not its id). At the start of every prompt, entries whose
 * signature does not occur in that prompt are dropped, so results survive only into the next
 * prompt that still contains them. Consequences clients see: an identical rerun executes
 * nothing, lists every node in `execution_cached`, re-sends the output nodes' cached UI in
 * `executed` and history, and writes no new file. Mode `none` (`--cache-none`) keeps nothing
 * across prompts.
 */
import { isLink } from "./execution-list.ts";
import type { Catalog } from "./nodes/catalog.ts";
import type { CatalogContext } from "./nodes/types.ts";
import { isPlainObject } from "./py/values.ts";

export interface UiEntry {
  meta: { node_id: string; display_node: string; parent_node: null; real_node_id: string };
  output: Record<string, unknown[]>;
}

interface Entry {
  outputs?: unknown[][];
  ui?: UiEntry;
}

type Prompt = Record<string, { class_type: string; inputs?: Record<string, unknown> }>;

let uncacheableCounter = 0;

export class OutputCache {
  private readonly mode: "classic" | "none";
  private entries = new Map<string, Entry>();
  private keys = new Map<string, string>();

  constructor(mode: "classic" | "none") {
    this.mode = mode;
  }

  /** `set_prompt` + `clean_unused`: computes this prompt's signatures and forgets the rest. */
  setPrompt(prompt: Prompt, catalog: Catalog, ctx: CatalogContext): void {
    if (this.mode === "none") this.entries.clear();
    this.keys = new Map();
    for (const id of Object.keys(prompt)) this.keys.set(id, signature(prompt, id, catalog, ctx));
    const used = new Set(this.keys.values());
    for (const key of [...this.entries.keys()]) if (!used.has(key)) this.entries.delete(key);
  }

  /** `free_memory`: forget everything. */
  reset(): void {
    this.entries.clear();
  }

  getOutputs(id: string): unknown[][] | undefined {
    return this.entry(id)?.outputs;
  }

  setOutputs(id: string, outputs: unknown[][]): void {
    this.ensure(id).outputs = outputs;
  }

  getUi(id: string): UiEntry | undefined {
    return this.entry(id)?.ui;
  }

  setUi(id: string, ui: UiEntry): void {
    this.ensure(id).ui = ui;
  }

  /** Node ids of the current prompt (`caches.outputs.all_node_ids()`). */
  nodeIds(): string[] {
    return [...this.keys.keys()];
  }

  private entry(id: string): Entry | undefined {
    const key = this.keys.get(id);
    return key === undefined ? undefined : this.entries.get(key);
  }

  private ensure(id: string): Entry {
    const key = this.keys.get(id) ?? `uncacheable:${++uncacheableCounter}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = {};
      this.entries.set(key, entry);
    }
    return entry;
  }
}

function signature(prompt: Prompt, id: string, catalog: Catalog, ctx: CatalogContext): string {
  const ancestors: string[] = [];
  const order = new Map<string, number>();
  collectAncestors(prompt, id, ancestors, order);
  const parts = [immediate(prompt, id, order, catalog, ctx), ...ancestors.map((a) => immediate(prompt, a, order, catalog, ctx))];
  return stableStringify(parts);
}

function collectAncestors(prompt: Prompt, id: string, ancestors: string[], order: Map<string, number>): void {
  const inputs = prompt[id]?.inputs;
  if (!isPlainObject(inputs)) return;
  for (const key of Object.keys(inputs).sort()) {
    const value = inputs[key];
    if (!isLink(value) || order.has(value[0])) continue;
    ancestors.push(value[0]);
    order.set(value[0], ancestors.length - 1);
    collectAncestors(prompt, value[0], ancestors, order);
  }
}

function immediate(prompt: Prompt, id: string, order: Map<string, number>, catalog: Catalog, ctx: CatalogContext): unknown {
  const node = prompt[id];
  const def = node ? catalog.get(node.class_type) : undefined;
  // A missing node gets NaN in ComfyUI, which never equals anything: never cached.
  if (!node || !def) return [`uncacheable:${++uncacheableCounter}`];
  const inputs = isPlainObject(node.inputs) ? node.inputs : {};
  const sig: unknown[] = [node.class_type, isChanged(node, def, ctx)];
  for (const key of Object.keys(inputs).sort()) {
    const value = inputs[key];
    sig.push(isLink(value) ? [key, ["ANCESTOR", order.get(value[0]), value[1]]] : [key, value]);
  }
  return sig;
}

function isChanged(node: { inputs?: Record<string, unknown> }, def: NonNullable<ReturnType<Catalog["get"]>>, ctx: CatalogContext): unknown {
  if (!def.isChanged) return false;
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node.inputs ?? {})) values[key] = Array.isArray(value) ? null : value;
  try {
    return def.isChanged(values, ctx);
  } catch {
    // ComfyUI logs the warning and uses NaN: the node runs every time.
    return `uncacheable:${++uncacheableCounter}`;
  }
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
