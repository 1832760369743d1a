/**
 * `validate_prompt` of execution.py: what `POST /prompt` answers before anything is queued.
 *
 * Reproduced on purpose, because clients see it:
 * - missing/unknown `class_type` → `invalid_prompt` at once, `node_errors` `{}`;
 * - only nodes reachable from output nodes are validated (and later run);
 * - per-input error types, messages, details and `extra_info` as in the reference table;
 * - constants are converted in place (`"64"` → 64, `{"__value__": [...]}` unwrapped), so the
 *   queued prompt and history show converted values;
 * - a link to a missing node or slot is an exception (`exception_during_validation` on an
 *   output node, `exception_during_inner_validation` recorded on the linked node), not
 *   `bad_linked_input`;
 * - `node_errors` lists only nodes with errors of their own, and every failing output is
 *   appended to `dependent_outputs` of every such node seen so far (ComfyUI's quirk);
 * - some outputs valid → accepted with `node_errors`; none valid →
 *   `prompt_outputs_failed_validation` whose `details` lists only the outputs' own errors.
 * Shapes that make ComfyUI raise outside these paths (prompt not a dict, node not a dict,
 * unhashable class_type …) throw `MalformedPromptError`, which the route turns into HTTP 500.
 */
import type { Catalog } from "./nodes/catalog.ts";
import type { CatalogContext, InputSpec, InputTypes, NodeDefinition } from "./nodes/types.ts";
import { isPlainObject, PyException, pyFloat, pyFloatRepr, pyInt, pyKeyErrorText, pyRepr, pyStr, pyTruthy, pyTypeName } from "./py/values.ts";
import {
  formatFrames,
  VALIDATE_CUSTOM_FRAME,
  VALIDATE_INNER_FRAME,
  VALIDATE_INPUTS_KEY_FRAME,
  VALIDATE_LINK_FRAME,
  VALIDATE_PROMPT_FRAME,
  VALIDATE_SLOT_FRAME,
} from "./traceback.ts";

export interface PromptError {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

export interface NodeError {
  errors: PromptError[];
  dependent_outputs: string[];
  class_type: string;
}

export type ValidationOutcome =
  | { valid: true; outputs: string[]; nodeErrors: Record<string, NodeError> }
  | { valid: false; error: PromptError; nodeErrors: Record<string, NodeError> };

/** The prompt is shaped so that ComfyUI raises outside validation (→ plain-text HTTP 500). */
export class MalformedPromptError extends Error {}

type ApiNode = { class_type: string; inputs?: unknown } & Record<string, unknown>;
type Verdict = { valid: boolean; errors: PromptError[] };

function invalidPrompt(message: string, nodeId: string): ValidationOutcome {
  return { valid: false, error: { type: "invalid_prompt", message, details: `Node ID '#${nodeId}'`, extra_info: {} }, nodeErrors: {} };
}

/** Python's `needle in container` for the container kinds JSON can produce. */
function pyContains(container: unknown, needle: string): boolean {
  if (typeof container === "string") return container.includes(needle);
  if (Array.isArray(container)) return container.some((item) => item === needle);
  if (isPlainObject(container)) return Object.hasOwn(container, needle);
  throw new MalformedPromptError(`argument of type '${pyTypeName(container)}' is not iterable`);
}

export function validatePrompt(prompt: unknown, partialTargets: unknown, catalog: Catalog, ctx: CatalogContext): ValidationOutcome {
  if (!isPlainObject(prompt)) {
    // A list or str iterates its items, then `prompt[item]` raises; only an empty one gets through.
    if ((Array.isArray(prompt) || typeof prompt === "string") && prompt.length === 0) return noOutputs();
    throw new MalformedPromptError(`prompt of type '${pyTypeName(prompt)}' is not a dict`);
  }
  const outputs: string[] = [];
  for (const [id, node] of Object.entries(prompt)) {
    if (!pyContains(node, "class_type")) return invalidPrompt("Cannot execute because a node is missing the class_type property.", id);
    if (!isPlainObject(node)) throw new MalformedPromptError(`node ${id} is a ${pyTypeName(node)}`);
    const classType = node.class_type;
    if (Array.isArray(classType) || isPlainObject(classType)) throw new MalformedPromptError(`unhashable type: '${pyTypeName(classType)}'`);
    const def = typeof classType === "string" ? catalog.get(classType) : undefined;
    if (!def) return invalidPrompt(`Cannot execute because node ${pyStr(classType)} does not exist.`, id);
    if (def.outputNode && (partialTargets === null || partialTargets === undefined || pyContains(partialTargets, id))) outputs.push(id);
  }
  if (outputs.length === 0) return noOutputs();

  const validator = new Validator(prompt as Record<string, ApiNode>, catalog, ctx);
  const good: string[] = [];
  const failed: Array<[string, PromptError[]]> = [];
  const nodeErrors: Record<string, NodeError> = {};
  for (const output of outputs) {
    let verdict: Verdict;
    try {
      verdict = validator.validate(output, []);
    } catch (err) {
      const ex = asPyException(err);
      verdict = {
        valid: false,
        errors: [
          {
            type: "exception_during_validation",
            message: "Exception when validating node",
            details: ex.message,
            extra_info: { exception_type: ex.pyType, traceback: formatFrames([VALIDATE_PROMPT_FRAME, ...ex.frames]) },
          },
        ],
      };
      validator.validated.set(output, verdict);
    }
    if (verdict.valid) {
      good.push(output);
      continue;
    }
    failed.push([output, verdict.errors]);
    for (const [nodeId, result] of validator.validated) {
      if (result.valid || result.errors.length === 0) continue;
      nodeErrors[nodeId] ??= { errors: result.errors, dependent_outputs: [], class_type: (prompt[nodeId] as ApiNode).class_type };
      nodeErrors[nodeId].dependent_outputs.push(output);
    }
  }
  if (good.length === 0) {
    const details = failed.flatMap(([, errors]) => errors.map((e) => `${e.message}: ${e.details}`)).join("\n");
    return {
      valid: false,
      error: { type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation", details, extra_info: {} },
      nodeErrors,
    };
  }
  return { valid: true, outputs: good, nodeErrors };
}

function noOutputs(): ValidationOutcome {
  return { valid: false, error: { type: "prompt_no_outputs", message: "Prompt has no outputs", details: "", extra_info: {} }, nodeErrors: {} };
}

function asPyException(err: unknown): PyException {
  if (err instanceof PyException) return err;
  if (err instanceof MalformedPromptError) throw err;
  return new PyException("Exception", err instanceof Error ? err.message : String(err));
}

/** Python's `==` between JSON values (1 == 1.0 == True). */
function pyEquals(a: unknown, b: unknown): boolean {
  const num = (v: unknown) => (typeof v === "boolean" ? Number(v) : v);
  if ((typeof a === "number" || typeof a === "boolean") && (typeof b === "number" || typeof b === "boolean")) return num(a) === num(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => pyEquals(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && pyEquals(a[k], b[k]));
  }
  return a === b || (a === null && b === undefined) || (a === undefined && b === null);
}

/** `validate_node_input(received_type, input_type)`: equal, or overlapping comma-separated unions. */
function typesCompatible(received: unknown, expected: unknown): boolean {
  if (received === expected) return true;
  if (typeof received !== "string" || typeof expected !== "string") return false;
  const a = new Set(received.split(",").map((t) => t.trim()));
  return expected.split(",").some((t) => a.has(t.trim()));
}

class Validator {
  readonly validated = new Map<string, Verdict>();
  private readonly prompt: Record<string, ApiNode>;
  private readonly catalog: Catalog;
  private readonly ctx: CatalogContext;

  constructor(prompt: Record<string, ApiNode>, catalog: Catalog, ctx: CatalogContext) {
    this.prompt = prompt;
    this.catalog = catalog;
    this.ctx = ctx;
  }

  validate(id: string, stack: string[]): Verdict {
    const done = this.validated.get(id);
    if (done) return done;
    // ComfyUI recurses without a visited set; a static cycle ends in RecursionError.
    if (stack.includes(id)) throw new PyException("RecursionError", "maximum recursion depth exceeded", [VALIDATE_INNER_FRAME]);
    const node = this.prompt[id] as ApiNode;
    if (!Object.hasOwn(node, "inputs")) throw new PyException("KeyError", "'inputs'", [VALIDATE_INPUTS_KEY_FRAME]);
    const inputs = node.inputs;
    if (!isPlainObject(inputs)) {
      throw new PyException("TypeError", `argument of type '${pyTypeName(inputs)}' is not iterable`, [VALIDATE_INPUTS_KEY_FRAME]);
    }
    const def = this.catalog.get(node.class_type) as NodeDefinition;
    const types = def.inputTypes(this.ctx);
    const validateArgs = def.validateInputs?.args ?? [];
    const errors: PromptError[] = [];
    let valid = true;

    for (const [name, spec, category] of declaredInputs(types)) {
      if (!Object.hasOwn(inputs, name)) {
        if (category === "required") {
          errors.push({ type: "required_input_missing", message: "Required input is missing", details: name, extra_info: { input_name: name } });
        }
        continue;
      }
      const inputType = spec[0];
      const options = spec[1] ?? {};
      const config = [inputType, options];
      let value = inputs[name];
      if (Array.isArray(value)) {
        if (this.validateLink(id, name, value, inputType, config, validateArgs, stack, errors) === "invalid") valid = false;
        continue;
      }
      try {
        if (isPlainObject(value) && Object.hasOwn(value, "__value__")) {
          value = value.__value__;
          inputs[name] = value;
        }
        if (inputType === "INT") value = pyInt(value);
        else if (inputType === "FLOAT") value = pyFloat(value);
        else if (inputType === "STRING") value = pyStr(value);
        else if (inputType === "BOOLEAN") value = pyTruthy(value);
        if (typeof inputType === "string" && ["INT", "FLOAT", "STRING", "BOOLEAN"].includes(inputType)) inputs[name] = value;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        errors.push({
          type: "invalid_input_type",
          message: `Failed to convert an input value to a ${pyStr(inputType)} value`,
          details: `${name}, ${pyStr(value)}, ${message}`,
          extra_info: { input_name: name, input_config: config, received_value: value, exception_message: message },
        });
        continue;
      }
      if (validateArgs.includes(name)) continue;
      const show = (v: unknown) => (inputType === "FLOAT" && typeof v === "number" ? pyFloatRepr(v) : pyStr(v));
      const min = bound(options.min);
      const max = bound(options.max);
      if (min !== undefined && typeof value === "number" && value < min) {
        errors.push({
          type: "value_smaller_than_min",
          message: `Value ${show(value)} smaller than min of ${show(options.min)}`,
          details: name,
          extra_info: { input_name: name, input_config: config, received_value: value },
        });
        continue;
      }
      if (max !== undefined && typeof value === "number" && value > max) {
        errors.push({
          type: "value_bigger_than_max",
          message: `Value ${show(value)} bigger than max of ${show(options.max)}`,
          details: name,
          extra_info: { input_name: name, input_config: config, received_value: value },
        });
        continue;
      }
      if (Array.isArray(inputType) && !inputType.some((choice) => pyEquals(choice, value))) {
        // Long lists (scanned model files) are not echoed back.
        const long = inputType.length > 20;
        errors.push({
          type: "value_not_in_list",
          message: "Value not in list",
          details: `${name}: '${pyStr(value)}' not in ${long ? `(list of length ${inputType.length})` : pyRepr(inputType)}`,
          extra_info: { input_name: name, input_config: long ? null : config, received_value: value },
        });
      }
    }

    if (def.validateInputs) this.runCustomValidation(def, types, inputs, errors);
    const verdict = { valid: errors.length === 0 && valid, errors };
    this.validated.set(id, verdict);
    return verdict;
  }

  /** Checks one link input; "error" = an error was recorded on this node, "invalid" = upstream is invalid. */
  private validateLink(
    id: string,
    name: string,
    link: unknown[],
    inputType: InputSpec[0],
    config: unknown[],
    validateArgs: readonly string[],
    stack: string[],
    errors: PromptError[],
  ): "ok" | "error" | "invalid" {
    const verdictErrors = (error: PromptError): "error" => {
      errors.push(error);
      return "error";
    };
    if (link.length !== 2) {
      return verdictErrors({
        type: "bad_linked_input",
        message: "Bad linked input, must be a length-2 list of [node_id, slot_index]",
        details: name,
        extra_info: { input_name: name, input_config: config, received_value: link },
      });
    }
    const [sourceId, slot] = link;
    if (Array.isArray(sourceId) || isPlainObject(sourceId)) {
      throw new PyException("TypeError", `unhashable type: '${pyTypeName(sourceId)}'`, [VALIDATE_LINK_FRAME]);
    }
    if (typeof sourceId !== "string" || !Object.hasOwn(this.prompt, sourceId)) {
      throw new PyException("KeyError", pyKeyErrorText(sourceId), [VALIDATE_LINK_FRAME]);
    }
    const sourceDef = this.catalog.get((this.prompt[sourceId] as ApiNode).class_type) as NodeDefinition;
    const receivedType = returnTypeAt(sourceDef, slot);
    if (!validateArgs.includes("input_types") && !typesCompatible(receivedType, inputType)) {
      return verdictErrors({
        type: "return_type_mismatch",
        message: "Return type mismatch between linked nodes",
        details: `${name}, received_type(${receivedType}) mismatch input_type(${pyStr(inputType)})`,
        extra_info: { input_name: name, input_config: config, received_type: receivedType, linked_node: link },
      });
    }
    try {
      const upstream = this.validate(sourceId, [...stack, id]);
      return upstream.valid ? "ok" : "invalid";
    } catch (err) {
      const ex = asPyException(err);
      this.validated.set(sourceId, {
        valid: false,
        errors: [
          {
            type: "exception_during_inner_validation",
            message: "Exception when validating inner node",
            details: ex.message,
            extra_info: {
              input_name: name,
              input_config: config,
              exception_message: ex.message,
              exception_type: ex.pyType,
              traceback: formatFrames([VALIDATE_INNER_FRAME, ...ex.frames]),
              linked_node: link,
            },
          },
        ],
      });
      return "invalid";
    }
  }

  /** VALIDATE_INPUTS: called with the constant inputs it names (links count as missing). */
  private runCustomValidation(def: NodeDefinition, types: InputTypes, inputs: Record<string, unknown>, errors: PromptError[]): void {
    const custom = def.validateInputs;
    if (!custom) return;
    const declared = new Set(declaredInputs(types).map(([name]) => name));
    const values: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(inputs)) {
      if (!declared.has(name) || !custom.args.includes(name)) continue;
      values[name] = Array.isArray(value) ? null : value;
    }
    const missing = custom.args.filter((arg) => !Object.hasOwn(values, arg));
    if (missing.length > 0) {
      const list = missing.map((m) => `'${m}'`).join(" and ");
      throw new PyException(
        "TypeError",
        `${def.classType}.VALIDATE_INPUTS() missing ${missing.length} required positional argument${missing.length > 1 ? "s" : ""}: ${list}`,
        [VALIDATE_CUSTOM_FRAME],
      );
    }
    let verdict: true | false | string;
    try {
      verdict = custom.check(values, this.ctx);
    } catch (err) {
      const ex = asPyException(err);
      throw new PyException(ex.pyType, ex.message, [VALIDATE_CUSTOM_FRAME]);
    }
    if (verdict === true) return;
    for (const name of Object.keys(values)) {
      errors.push({
        type: "custom_validation_failed",
        message: "Custom validation failed for node",
        details: verdict === false ? name : `${name} - ${verdict}`,
        extra_info: { input_name: name },
      });
    }
  }
}

/** A numeric min/max of an input spec; a bigint (an int beyond 2^53) compares as the nearest double, like the received value does. */
function bound(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  return undefined;
}

function declaredInputs(types: InputTypes): Array<[string, InputSpec, "required" | "optional"]> {
  return [
    ...Object.entries(types.required ?? {}).map(([n, s]) => [n, s, "required"] as [string, InputSpec, "required"]),
    ...Object.entries(types.optional ?? {}).map(([n, s]) => [n, s, "optional"] as [string, InputSpec, "optional"]),
  ];
}

/** `RETURN_TYPES[slot]` with Python's indexing rules (negative indices count from the end). */
function returnTypeAt(def: NodeDefinition, slot: unknown): string {
  const types = def.returnTypes;
  if (typeof slot === "boolean") slot = Number(slot);
  if (typeof slot !== "number" || !Number.isInteger(slot)) {
    throw new PyException("TypeError", `tuple indices must be integers or slices, not ${pyTypeName(slot)}`, [VALIDATE_SLOT_FRAME]);
  }
  const index = slot < 0 ? types.length + slot : slot;
  const type = types[index];
  if (index < 0 || type === undefined) throw new PyException("IndexError", "tuple index out of range", [VALIDATE_SLOT_FRAME]);
  return type;
}
