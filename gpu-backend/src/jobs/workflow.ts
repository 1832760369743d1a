/**
 * Rewrites a job's workflow into its own namespace before it reaches ComfyUI, so two jobs — even
 * two with identical workflows — can never see each other's files:
 * - inputs: each `InputRef` (node, input) gets the name the file was uploaded under, inside the
 *   job's input subfolder;
 * - every `filename_prefix` becomes `<namespace>/<its last path segment>`, so outputs land in the
 *   job's own output subfolder (no `..`, no absolute paths survive);
 * - every output node gets one extra input holding the namespace. ComfyUI ignores inputs a node
 *   does not declare, but its output cache keys on all of them (comfy_execution/caching.py), so
 *   an identical rerun cannot be answered from cache with an earlier job's file names.
 * Pure functions: easy to test, nothing here talks to ComfyUI.
 */
import { randomBytes } from "node:crypto";
import type { DispatchRef } from "../../../src/protocol/messages.ts";

export const NAMESPACE_ROOT = "saas";
/** The cache-busting input added to output nodes. */
export const JOB_INPUT = "__comfyui_saas_job";

export function jobNamespace(ref: DispatchRef): string {
  const job = ref.job_id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
  return `${NAMESPACE_ROOT}/${job}-a${ref.attempt}-${randomBytes(4).toString("hex")}`;
}

/** A file-name fragment that is safe in any folder: no separators, no leading dots. */
export function safeSegment(text: string, fallback: string, max = 80): string {
  const last = text.split(/[\\/]/).pop() ?? "";
  const cleaned = last
    .replace(/[^A-Za-z0-9_.%-]/g, "_")
    .replace(/^[.]+/, "")
    .replace(/\.{2,}/g, ".")
    .slice(0, max);
  return cleaned === "" ? fallback : cleaned;
}

export type RewriteResult = { ok: true; prompt: Record<string, unknown> } | { ok: false; message: string; details: unknown };

type NodeLike = { class_type?: unknown; inputs?: Record<string, unknown> };

export function rewriteWorkflow(
  workflow: Record<string, unknown>,
  namespace: string,
  inputValues: ReadonlyArray<{ nodeId: string; inputName: string; value: string }>,
  outputClasses: ReadonlySet<string>,
): RewriteResult {
  const prompt = structuredClone(workflow) as Record<string, unknown>;
  const nodeOf = (id: string): NodeLike | undefined => {
    const node = prompt[id];
    return typeof node === "object" && node !== null && !Array.isArray(node) ? (node as NodeLike) : undefined;
  };
  for (const { nodeId, inputName, value } of inputValues) {
    const node = nodeOf(nodeId);
    if (!node)
      return { ok: false, message: `input refers to node ${nodeId}, which is not in the workflow`, details: { node_id: nodeId, input_name: inputName } };
    if (typeof node.inputs !== "object" || node.inputs === null || Array.isArray(node.inputs)) node.inputs = {};
    node.inputs[inputName] = value;
  }
  for (const id of Object.keys(prompt)) {
    const node = nodeOf(id);
    if (!node || typeof node.inputs !== "object" || node.inputs === null || Array.isArray(node.inputs)) continue;
    const prefix = node.inputs.filename_prefix;
    if (typeof prefix === "string") node.inputs.filename_prefix = `${namespace}/${safeSegment(prefix, "ComfyUI")}`;
    if (typeof node.class_type === "string" && outputClasses.has(node.class_type)) node.inputs[JOB_INPUT] = namespace;
  }
  return { ok: true, prompt };
}
