/**
 * Pre-flight (issue 13, item 3): validates an API-format workflow against a pool's catalog
 * (`object_info`) with the rules of ComfyUI 0.3.64's `validate_prompt`/`validate_inputs`
 * (execution.py at a125cd84), so a graph the host would refuse is refused at submit, with every
 * problem at once and a JSON pointer each.
 *
 * Where this deliberately differs from ComfyUI, it is to report more, never to accept more:
 * - ComfyUI stops at the first unknown class; here every unknown class is reported, with the
 *   closest known names. `prompt_no_outputs` is reported only when every class is known (an
 *   unknown class might have been the output).
 * - ComfyUI validates per output node and accepts a graph if one output is valid (the others
 *   are silently dropped); here any error in a node reachable from an output fails the graph.
 * - ComfyUI does not look upstream past a mismatched or malformed link; here every reachable
 *   node is checked.
 * - A link to a missing node or output slot makes ComfyUI raise (`exception_during_validation`
 *   on an output node, `exception_during_inner_validation` on an inner one); here those are
 *   `linked_node_missing` / `linked_output_out_of_range` on the node holding the link. A
 *   negative slot (Python would count from the end) is out of range, as for checkWorkflow.
 * Like ComfyUI: nodes no output reaches are not checked, undeclared inputs are ignored, literal
 * values are converted as `int()`/`float()`/`str()`/`bool()` would before min/max and combo
 * checks (`"5"` is a valid INT, `"5.0"` is not), and v3 `COMBO` values are not checked unless
 * `v3Combos: "check"`.
 *
 * Pure and synchronous: runs in workerd and Node. Cycles are harmless: reachability uses a
 * visited set and no check recurses.
 */
import { pointerToken } from "../jobs/workflow.ts";
import { DEFAULT_FILE_INPUTS, type FileInputs, fileInputsFromObjectInfo, mergeFileInputs, parseFileInputs } from "../protocol/node-policy.ts";
import { isPrivateModelName } from "../protocol/private-models.ts";
import { type Catalog, type CompiledClass, type CompiledInput, compileCatalog } from "./catalog.ts";

export type PreflightCode =
  | "invalid_prompt"
  | "prompt_no_outputs"
  | "required_input_missing"
  | "bad_linked_input"
  | "linked_node_missing"
  | "linked_output_out_of_range"
  | "return_type_mismatch"
  | "invalid_input_type"
  | "value_smaller_than_min"
  | "value_bigger_than_max"
  | "value_not_in_list";

export interface PreflightError {
  /** RFC 6901 pointer into the request body, e.g. `/workflow/4/inputs/ckpt_name`. */
  pointer: string;
  /** ComfyUI's error type where it has one (see PreflightCode). */
  code: PreflightCode;
  detail: string;
  node_id?: string;
  class_type?: string;
  input_name?: string;
  /** The literal value refused (after `__value__` unwrapping), for value errors. */
  value?: unknown;
  /** Set on `value_not_in_list` of a model-file combo: the caller may answer `missing-model`. */
  model?: true;
}

/**
 * `models`, when valid: the model files the graph names (string values of model-file combos on
 * nodes an output reaches, sorted, distinct) — what a host must have to run it (placement).
 */
export type PreflightResult = { valid: true; models: string[] } | { valid: false; errors: PreflightError[]; truncated: boolean };

export interface PreflightOptions {
  /**
   * "skip" relaxes model-file combos for a pool (models fetched on demand, or catalogs that lag
   * behind the hosts). A model combo is one whose choices are all model file names — or empty,
   * as ComfyUI lists an empty models folder. Default "check".
   */
  modelCombos?: "check" | "skip";
  /** "check" also checks v3 `COMBO` values against `options` (ComfyUI 0.3.64 does not). Default "comfyui". */
  v3Combos?: "comfyui" | "check";
  /**
   * `Class.input` pairs whose literal value is not checked: file inputs (the edge replaces them
   * and node-policy checks them) and inputs the node validates itself (`VALIDATE_INPUTS`, which
   * makes ComfyUI skip min/max/combo). Default: the node policy's file inputs, every input the
   * catalog marks as an upload, and ComfyUI 0.3.64's self-validated core inputs.
   */
  unchecked?: FileInputs;
  /**
   * Model file names accepted in any model-file combo though no host lists them yet: the tenant's
   * own private files the edge rewrote to (src/protocol/private-models.ts), which hosts fetch on
   * demand. They are not counted among the graph's `models` (placement does not require them).
   */
  knownModels?: ReadonlySet<string>;
  /** Pointer prefix of the workflow in the request body. Default "/workflow". */
  base?: string;
  /** Errors kept; `truncated` says when there were more. Default 100. */
  maxErrors?: number;
}

/** Core inputs of ComfyUI 0.3.64 whose node has VALIDATE_INPUTS for them (besides the file inputs). */
const SELF_VALIDATED = "LoadImageSetNode.images,LoadImageSetNode.resize_method";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const defaultUnchecked = new WeakMap<object, FileInputs>();

function uncheckedFor(catalog: Catalog): FileInputs {
  let hit = defaultUnchecked.get(catalog);
  if (!hit) {
    hit = mergeFileInputs(parseFileInputs(DEFAULT_FILE_INPUTS), parseFileInputs(SELF_VALIDATED), fileInputsFromObjectInfo(catalog));
    defaultUnchecked.set(catalog, hit);
  }
  return hit;
}

// Numeric ids in numeric order ("3" < "10"), others after them in code-unit order.
function compareIds(a: string, b: string): number {
  const na = /^\d{1,15}$/.test(a);
  const nb = /^\d{1,15}$/.test(b);
  if (na && nb) return Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function preflight(workflow: unknown, catalog: Catalog, options: PreflightOptions = {}): PreflightResult {
  const base = options.base ?? "/workflow";
  const maxErrors = options.maxErrors ?? 100;
  const compiled = compileCatalog(catalog);
  const unchecked = options.unchecked ?? uncheckedFor(catalog);
  // Collected unbounded (a workflow is ≤ 1 MiB), ordered by node id, then capped.
  const errors: PreflightError[] = [];
  const add = (error: PreflightError) => errors.push(error);
  const models = new Set<string>();
  const done = (): PreflightResult => {
    if (errors.length === 0) return { valid: true, models: [...models].sort() };
    const rank = new Map(ids.map((id, i) => [id, i]));
    const order = (e: PreflightError) => (e.node_id === undefined ? ids.length : rank.get(e.node_id)!);
    const sorted = errors.map((e, i) => [order(e), i, e] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return { valid: false, errors: sorted.slice(0, maxErrors).map(([, , e]) => e), truncated: sorted.length > maxErrors };
  };

  let ids: string[] = [];
  if (!isObject(workflow)) {
    add({ pointer: base, code: "invalid_prompt", detail: "The workflow must be an object of nodes keyed by node id (ComfyUI API format)." });
    return done();
  }
  ids = Object.keys(workflow).sort(compareIds);
  const nodeAt = (id: string) => `${base}/${pointerToken(id)}`;

  // validate_prompt: every node needs a known class; output nodes are where validation starts.
  const classOf = new Map<string, CompiledClass>();
  const outputs: string[] = [];
  let unknownClasses = false;
  for (const id of ids) {
    const node = workflow[id];
    const classType = isObject(node) ? node.class_type : undefined;
    if (typeof classType !== "string") {
      unknownClasses = true;
      add({ pointer: `${nodeAt(id)}/class_type`, code: "invalid_prompt", detail: `Node ${id} has no class_type.`, node_id: id });
      continue;
    }
    const cls = compiled.classes.get(classType);
    if (!cls) {
      unknownClasses = true;
      add({
        pointer: `${nodeAt(id)}/class_type`,
        code: "invalid_prompt",
        detail: unknownClassDetail(id, classType, compiled.names),
        node_id: id,
        class_type: classType,
      });
      continue;
    }
    classOf.set(id, cls);
    if (cls.outputNode) outputs.push(id);
  }
  if (outputs.length === 0) {
    if (!unknownClasses) {
      add({
        pointer: base,
        code: "prompt_no_outputs",
        detail: "The workflow has no output node (such as SaveImage or PreviewImage), so ComfyUI would have nothing to run.",
      });
    }
    return done();
  }

  // Nodes reachable from an output, through links that name an existing node.
  const reachable = new Set<string>(outputs);
  const stack = [...outputs];
  while (stack.length > 0) {
    const node = workflow[stack.pop()!] as Record<string, unknown>;
    if (!isObject(node.inputs)) continue;
    for (const value of Object.values(node.inputs)) {
      if (!Array.isArray(value) || value.length !== 2) continue;
      const source = value[0];
      if (typeof source === "string" && Object.hasOwn(workflow, source) && !reachable.has(source)) {
        reachable.add(source);
        stack.push(source);
      }
    }
  }

  for (const id of ids) {
    const cls = classOf.get(id);
    if (!cls || !reachable.has(id)) continue;
    const node = workflow[id] as Record<string, unknown>;
    const inputs = node.inputs;
    if (!isObject(inputs)) {
      add({
        pointer: `${nodeAt(id)}/inputs`,
        code: "invalid_prompt",
        detail: `Node ${id} (${cls.name}) has no inputs object.`,
        node_id: id,
        class_type: cls.name,
      });
      continue;
    }
    const skip = unchecked.get(cls.name);
    for (const input of cls.inputs) {
      const at = { pointer: `${nodeAt(id)}/inputs/${pointerToken(input.name)}`, node_id: id, class_type: cls.name, input_name: input.name };
      if (!Object.hasOwn(inputs, input.name)) {
        if (input.required) add({ ...at, code: "required_input_missing", detail: `${input.name}: required input of ${cls.name} is missing.` });
        continue;
      }
      const value = inputs[input.name];
      if (Array.isArray(value)) {
        const problem = checkLink(value, input, workflow, classOf);
        if (problem) add({ ...at, ...problem });
        continue;
      }
      if (skip?.has(input.name)) continue;
      if (input.modelCombo && typeof value === "string" && options.knownModels?.has(value)) continue;
      if (input.modelCombo && typeof value === "string") models.add(value);
      const problem = checkValue(value, input, options);
      if (problem) add({ ...at, ...problem });
    }
  }
  return done();
}

type Problem = Pick<PreflightError, "code" | "detail"> & Partial<Pick<PreflightError, "value" | "model">>;

function checkLink(link: unknown[], input: CompiledInput, workflow: Record<string, unknown>, classOf: Map<string, CompiledClass>): Problem | null {
  const name = input.name;
  if (link.length !== 2 || typeof link[0] !== "string" || typeof link[1] !== "number" || !Number.isInteger(link[1])) {
    return {
      code: "bad_linked_input",
      detail: `${name}: a list is read as a link and must be ["<node id>", <output index>]; wrap a list constant as {"__value__": [...]}.`,
    };
  }
  const [source, slot] = link as [string, number];
  if (!Object.hasOwn(workflow, source)) return { code: "linked_node_missing", detail: `${name}: links to node ${source}, which is not in the workflow.` };
  const sourceClass = classOf.get(source);
  if (!sourceClass) return null; // its unknown class is reported on that node
  const outputs = sourceClass.outputs;
  if (slot < 0 || slot >= outputs.length) {
    const has = outputs.length === 0 ? "no outputs" : `outputs 0-${outputs.length - 1} (${outputs.map(typeName).join(", ")})`;
    return { code: "linked_output_out_of_range", detail: `${name}: links to output ${slot} of node ${source} (${sourceClass.name}), which has ${has}.` };
  }
  const received = outputs[slot];
  if (!typesCompatible(received, input.type)) {
    return {
      code: "return_type_mismatch",
      detail: `${name}: expects ${typeName(input.type)} but output ${slot} of node ${source} (${sourceClass.name}) is ${typeName(received)}.`,
    };
  }
  return null;
}

/** validate_node_input: equal, `*` on either side (ComfyUI's AnyType), or overlapping comma-separated unions. */
function typesCompatible(received: unknown, expected: unknown): boolean {
  if (received === "*" || expected === "*") return true;
  if (typeof received !== "string" || typeof expected !== "string") return pyEquals(received, expected);
  if (received === expected) return true;
  const have = new Set(received.split(",").map((t) => t.trim()));
  return expected.split(",").some((t) => have.has(t.trim()));
}

function checkValue(raw: unknown, input: CompiledInput, options: PreflightOptions): Problem | null {
  const name = input.name;
  // A list constant is wrapped so that it is not read as a link.
  let value = isObject(raw) && Object.hasOwn(raw, "__value__") ? raw.__value__ : raw;
  if (input.kind === "INT" || input.kind === "FLOAT") {
    const converted = input.kind === "INT" ? pyInt(value) : pyFloat(value);
    if (converted === undefined) {
      const hint = input.kind === "INT" ? "a whole number" : "a number";
      return { code: "invalid_input_type", detail: `${name}: ${show(value)} is not ${hint} (${input.kind}).`, value };
    }
    value = converted;
  } else if (input.kind === "STRING" || input.kind === "BOOLEAN") {
    return null; // str() and bool() accept anything
  }
  if (typeof value === "number") {
    if (input.min !== undefined && value < input.min) {
      return { code: "value_smaller_than_min", detail: `${name}: ${show(value)} is smaller than the minimum, ${input.min}.`, value };
    }
    if (input.max !== undefined && value > input.max) {
      return { code: "value_bigger_than_max", detail: `${name}: ${show(value)} is bigger than the maximum, ${input.max}.`, value };
    }
  }
  const isCombo = input.kind === "combo" || (input.kind === "v3combo" && options.v3Combos === "check");
  if (!isCombo || input.choices.some((c) => pyEquals(c, value))) return null;
  if (input.modelCombo) {
    if (options.modelCombos === "skip") return null;
    const noun = modelNoun(name);
    const shown = visibleChoices(input.choices).length;
    const detail =
      shown === 0
        ? `${name}: ${show(value)} is not available: this pool has no ${noun}s.`
        : `${name}: ${show(value)} is not one of the ${shown} ${noun}${shown === 1 ? "" : "s"} this pool has: ${listChoices(input.choices, value)}.`;
    return { code: "value_not_in_list", detail, value, model: true };
  }
  const detail =
    input.choices.length === 0
      ? `${name}: ${show(value)} is not available: the list of choices is empty.`
      : `${name}: ${show(value)} is not one of the ${input.choices.length} choices: ${listChoices(input.choices, value)}.`;
  return { code: "value_not_in_list", detail, value };
}

const MODEL_NOUNS: Record<string, string> = {
  ckpt_name: "checkpoint",
  lora_name: "LoRA",
  vae_name: "VAE",
  control_net_name: "ControlNet model",
  unet_name: "diffusion model",
  style_model_name: "style model",
  gligen_name: "GLIGEN model",
  hypernetwork_name: "hypernetwork",
  model_name: "model file",
};

function modelNoun(input: string): string {
  if (input.startsWith("clip_name")) return "CLIP model";
  return MODEL_NOUNS[input] ?? "model file";
}

const MAX_LISTED = 5;

/** The closest choices first when the value is a string (a typo shows its fix), else the first few. */
/** Tenants' private files on the hosts are never shown, nor counted (another tenant's would leak). */
function visibleChoices(choices: readonly unknown[]): unknown[] {
  return choices.filter((c) => typeof c !== "string" || !isPrivateModelName(c));
}

function listChoices(all: readonly unknown[], value: unknown): string {
  const choices = visibleChoices(all);
  let picked = choices.slice(0, MAX_LISTED);
  if (typeof value === "string" && choices.length > MAX_LISTED) {
    const strings = choices.filter((c): c is string => typeof c === "string");
    const close = closest(value, strings, MAX_LISTED);
    picked = [...close, ...choices.filter((c) => !close.includes(c as string))].slice(0, MAX_LISTED);
  }
  const more = choices.length - picked.length;
  return picked.map(show).join(", ") + (more > 0 ? ` and ${more} more` : "");
}

function unknownClassDetail(id: string, classType: string, names: readonly string[]): string {
  const close = closest(classType, names, 3);
  const hint = close.length > 0 ? `; the closest known: ${close.map((n) => `'${n}'`).join(", ")}` : "";
  return `Node ${id}: class '${classType}' is not installed on this pool${hint}.`;
}

/**
 * Up to `count` names nearest to `target` by case-insensitive edit distance, within a distance
 * worth suggesting; a name containing the target or contained in it ranks first (`dpmpp_2m` for
 * `dpmpp_2m_karras`, `KSampler` for `Sampler`).
 */
export function closest(target: string, names: readonly string[], count: number): string[] {
  const t = target.toLowerCase().slice(0, 128);
  const limit = Math.max(2, Math.ceil(t.length * 0.4));
  const scored: Array<[number, string]> = [];
  for (const name of names) {
    const n = name.toLowerCase();
    if (Math.min(n.length, t.length) >= 4 && (n.includes(t) || t.includes(n))) {
      scored.push([Math.abs(n.length - t.length) / 1000, name]);
      continue;
    }
    const d = editDistance(t, n, limit);
    if (d <= limit) scored.push([d, name]);
  }
  scored.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return scored.slice(0, count).map(([, n]) => n);
}

/** Levenshtein distance, abandoned (returning limit + 1) once it must exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

function typeName(type: unknown): string {
  return typeof type === "string" ? type : Array.isArray(type) ? "a list of choices" : JSON.stringify(type);
}

function show(value: unknown): string {
  if (typeof value === "string") return `'${value.length > 200 ? `${value.slice(0, 200)}…` : value}'`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

const INT_LITERAL = /^[+-]?\d+(?:_\d+)*$/;
const FLOAT_LITERAL = /^[+-]?(?:(?:\d+(?:_\d+)*)?\.\d+(?:_\d+)*|\d+(?:_\d+)*\.?)(?:[eE][+-]?\d+(?:_\d+)*)?$/;

/** Python's `int(value)` for JSON values, or undefined where it raises. */
function pyInt(value: unknown): number | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === "string") {
    const s = value.trim();
    return INT_LITERAL.test(s) ? Number(s.replaceAll("_", "")) : undefined;
  }
  return undefined;
}

/** Python's `float(value)` for JSON values, or undefined where it raises. */
function pyFloat(value: unknown): number | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value;
  if (typeof value === "string") {
    const s = value.trim();
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
    if (special) return special[2]!.toLowerCase() === "nan" ? Number.NaN : special[1] === "-" ? -Infinity : Infinity;
    return FLOAT_LITERAL.test(s) ? Number(s.replaceAll("_", "")) : undefined;
  }
  return undefined;
}

/** Python's `==` between JSON values (1 == 1.0 == True), as `val not in combo_options` uses it. */
function pyEquals(a: unknown, b: unknown): boolean {
  const num = (v: unknown) => (typeof v === "boolean" ? Number(v) : v);
  if ((typeof a === "number" || typeof a === "boolean") && (typeof b === "number" || typeof b === "boolean")) return num(a) === num(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => pyEquals(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && pyEquals(a[k], b[k]));
  }
  return a === b;
}
