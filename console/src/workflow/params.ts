/**
 * The submit page's workflow handling: reading a pasted or dropped file (a `POST /v1/jobs` body or
 * a bare API-format graph), and the few inputs people change between runs: prompt text, seed and
 * steps, wherever a node has them as literal values (a link `["4", 0]` is not editable here).
 */
export type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown>; _meta?: unknown }>;

export interface ParsedBody {
  workflow: Workflow;
  /** The rest of a request body (pool, metadata, webhook) when a whole body was given. */
  pool?: string;
}

export type ParseResult = { ok: true; body: ParsedBody } | { ok: false; error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseWorkflowText(text: string): ParseResult {
  if (text.trim() === "") return { ok: false, error: "Paste a workflow in ComfyUI's API format, drop a .json file, or pick an example." };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `This is not JSON: ${(err as Error).message}` };
  }
  if (!isRecord(value)) return { ok: false, error: "The JSON must be an object: a workflow, or a request body with a `workflow`." };
  const body = isRecord(value.workflow) ? value : { workflow: value };
  const workflow = body.workflow as Record<string, unknown>;
  const nodes = Object.entries(workflow);
  if (nodes.length === 0) return { ok: false, error: "The workflow has no nodes." };
  for (const [id, node] of nodes) {
    if (!isRecord(node) || typeof node.class_type !== "string" || !isRecord(node.inputs))
      return {
        ok: false,
        error: `Node ${id} has no class_type and inputs: this looks like ComfyUI's UI format. Export it with "Save (API Format)" (or "Export (API)") instead.`,
      };
  }
  return { ok: true, body: { workflow: workflow as Workflow, ...(typeof body.pool === "string" ? { pool: body.pool } : {}) } };
}

export type ParamKind = "text" | "integer";

export interface Param {
  nodeId: string;
  input: string;
  kind: ParamKind;
  value: string | number;
}

const EDITABLE: Record<string, ParamKind> = { text: "text", prompt: "text", seed: "integer", noise_seed: "integer", steps: "integer" };

/** Nodes in id order (numeric ids numerically), as ComfyUI lists them. */
export function nodeIds(workflow: Workflow): string[] {
  return Object.keys(workflow).sort((a, b) => {
    const na = Number(a);
    const nb = Number(b);
    return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
  });
}

export function editableParams(workflow: Workflow, nodeId: string): Param[] {
  const node = workflow[nodeId];
  if (!node) return [];
  const out: Param[] = [];
  for (const [input, value] of Object.entries(node.inputs)) {
    const kind = EDITABLE[input];
    if (kind === "text" && typeof value === "string") out.push({ nodeId, input, kind, value });
    if (kind === "integer" && typeof value === "number" && Number.isInteger(value)) out.push({ nodeId, input, kind, value });
  }
  return out;
}

/** A copy of the workflow with one input changed (the others shared, unchanged). */
export function withParam(workflow: Workflow, nodeId: string, input: string, value: string | number): Workflow {
  const node = workflow[nodeId];
  if (!node) return workflow;
  return { ...workflow, [nodeId]: { ...node, inputs: { ...node.inputs, [input]: value } } };
}

/** A fresh random seed ComfyUI accepts (its seeds are 0 … 2^64-1; JSON keeps 2^53 exactly). */
export const randomSeed = () => Math.floor(Math.random() * 2 ** 48);
