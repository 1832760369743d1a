/**
 * A pool's node catalog: ComfyUI's `GET /object_info` answer, as hosts report it, and the
 * compiled form pre-flight reads (built once per catalog object and cached, so validating a
 * graph costs only the graph's size, not the catalog's).
 *
 * Input specs come in two layouts, both from ComfyUI 0.3.64:
 * - v1: `["INT", {min, max, …}]`, a combo as `[["a", "b"], {…}]`;
 * - v3: `["COMBO", {options: ["a", "b"], …}]` — `validate_inputs` does not check these values
 *   (its combo check is `isinstance(input_type, list)`), so they are kept apart.
 */

export type InputSpecs = Record<string, unknown>;

export interface NodeClassInfo {
  input?: { required?: InputSpecs; optional?: InputSpecs; hidden?: InputSpecs };
  input_order?: { required?: string[]; optional?: string[]; hidden?: string[] };
  output?: unknown[];
  output_is_list?: boolean[];
  output_name?: string[];
  output_node?: boolean;
  name?: string;
  display_name?: string;
  python_module?: string;
  category?: string;
  [key: string]: unknown;
}

/** `object_info`: class name → its description. */
export type Catalog = Readonly<Record<string, NodeClassInfo>>;

export type InputKind =
  /** A value ComfyUI converts: `int()`, `float()`, `str()`, `bool()`. */
  | "INT"
  | "FLOAT"
  | "STRING"
  | "BOOLEAN"
  /** A v1 combo: the value must be one of `choices`. */
  | "combo"
  /** A v3 `COMBO`: `choices` from `options`, not checked by ComfyUI. */
  | "v3combo"
  /** Anything else (`MODEL`, `IMAGE`, `*` …): only links are checked. */
  | "other";

export interface CompiledInput {
  name: string;
  required: boolean;
  /** The spec's type as ComfyUI compares it with a link's type (a list for v1 combos). */
  type: unknown;
  kind: InputKind;
  options: Readonly<Record<string, unknown>>;
  choices: readonly unknown[];
  min: number | undefined;
  max: number | undefined;
  /** Every choice is a model file name (or there are none, as when a models folder is empty). */
  modelCombo: boolean;
}

export interface CompiledClass {
  name: string;
  inputs: readonly CompiledInput[];
  outputs: readonly unknown[];
  outputNode: boolean;
}

export interface CompiledCatalog {
  classes: ReadonlyMap<string, CompiledClass>;
  /** Class names, for "did you mean" suggestions. */
  names: readonly string[];
}

// folder_paths.supported_pt_extensions of ComfyUI 0.3.64, plus the formats custom loaders use.
const MODEL_FILE = /\.(?:safetensors|sft|ckpt|pt|pt2|pth|bin|pkl|gguf|onnx)$/i;

/** Whether a string is named like a model file (by its extension). */
export function isModelFileName(name: string): boolean {
  return MODEL_FILE.test(name);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const cache = new WeakMap<object, CompiledCatalog>();

export function compileCatalog(catalog: Catalog): CompiledCatalog {
  const hit = cache.get(catalog);
  if (hit) return hit;
  const classes = new Map<string, CompiledClass>();
  for (const [name, info] of Object.entries(catalog)) {
    if (!isObject(info)) continue;
    const inputs: CompiledInput[] = [];
    for (const [section, required] of [
      ["required", true],
      ["optional", false],
    ] as const) {
      const specs = isObject(info.input) ? info.input[section] : undefined;
      if (!isObject(specs)) continue;
      for (const [inputName, spec] of Object.entries(specs)) inputs.push(compileInput(inputName, spec, required));
    }
    classes.set(name, {
      name,
      inputs,
      outputs: Array.isArray(info.output) ? info.output : [],
      outputNode: info.output_node === true,
    });
  }
  const compiled = { classes, names: [...classes.keys()] };
  cache.set(catalog, compiled);
  return compiled;
}

function compileInput(name: string, spec: unknown, required: boolean): CompiledInput {
  const type = Array.isArray(spec) ? spec[0] : spec;
  const options = Array.isArray(spec) && isObject(spec[1]) ? spec[1] : {};
  let kind: InputKind = "other";
  let choices: readonly unknown[] = [];
  if (Array.isArray(type)) {
    kind = "combo";
    choices = type;
  } else if (type === "COMBO") {
    kind = "v3combo";
    choices = Array.isArray(options.options) ? options.options : [];
  } else if (type === "INT" || type === "FLOAT" || type === "STRING" || type === "BOOLEAN") {
    kind = type;
  }
  const isCombo = kind === "combo" || kind === "v3combo";
  return {
    name,
    required,
    type,
    kind,
    options,
    choices,
    min: bound(options.min),
    max: bound(options.max),
    modelCombo: isCombo && choices.every((c) => typeof c === "string" && isModelFileName(c)),
  };
}

function bound(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
