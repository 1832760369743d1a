/**
 * What this host lets through to ComfyUI. Checked before anything of the job reaches ComfyUI —
 * before its inputs are even downloaded — with the rules of `src/protocol/node-policy.ts`. The
 * edge applies the same rules at submit; the host does not rely on that (defence in depth, and
 * the files are here):
 *
 * - node classes: only the lock file's allowed set, never a denied class or an API node;
 * - file inputs (FILE_INPUT_NODES plus every input `/object_info` marks as an upload): each must
 *   be filled by one of the dispatch's InputRefs, whose file the host places in the job's own
 *   folder and names itself. Any other value — a file name, a path, `..`, a ` [temp]`/` [output]`
 *   suffix, a link from another node, a number — is refused: ComfyUI's loaders open whatever it
 *   names (LoadImage's VALIDATE_INPUTS skips the file list), other jobs' files included;
 * - every InputRef names a file input of a node in the workflow, and only one InputRef per input;
 * - `filename_prefix` is a constant string: a link could compute a path into another job's folder
 *   (only constants are rewritten into the job's namespace).
 * The verdict names the node and the input; nothing here talks to ComfyUI.
 */

import type { DispatchRequest, JobFailure } from "../../../src/protocol/messages.ts";
import { type DeniedNode, deniedNodes, type FileInputs, findFileInputs, type ObjectInfoEntry } from "../../../src/protocol/node-policy.ts";

export interface WorkflowRules {
  fileInputs: FileInputs;
  denied: ReadonlySet<string>;
  /** The lock's allowed classes. */
  allowed: ReadonlySet<string>;
  /** `python_module` of each class ComfyUI has (API nodes are told apart by it). */
  objectInfo: Readonly<Record<string, ObjectInfoEntry>>;
}

export interface PolicyIssue {
  node_id: string;
  class_type?: string;
  input_name?: string;
  input_id?: string;
  reason:
    | "denied"
    | "api-node"
    | "not-allowed"
    | "not-placed"
    | "not-a-file-input"
    | "no-such-node"
    | "placed-twice"
    | "prefix-not-constant"
    | "inputs-not-an-object";
  detail: string;
}

export type PolicyVerdict = { ok: true } | { ok: false; failure: JobFailure };

const MAX_ISSUES = 20;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function checkWorkflow(request: Pick<DispatchRequest, "workflow" | "inputs">, rules: WorkflowRules): PolicyVerdict {
  const { workflow } = request;
  const issues: PolicyIssue[] = deniedNodes(workflow, rules).map(classIssue);

  const placed = new Map<string, string>(); // `${node}\0${input}` → input id
  for (const ref of request.inputs) {
    const node = workflow[ref.node_id];
    const classType = isRecord(node) && typeof node.class_type === "string" ? node.class_type : undefined;
    const at = { node_id: ref.node_id, input_name: ref.input_name, input_id: ref.id };
    if (!isRecord(node)) {
      issues.push({ ...at, reason: "no-such-node", detail: `input ${ref.id} is meant for node ${ref.node_id}, which is not in the workflow` });
    } else if (!classType || !rules.fileInputs.get(classType)?.has(ref.input_name)) {
      issues.push({
        ...at,
        ...(classType ? { class_type: classType } : {}),
        reason: "not-a-file-input",
        detail: `input ${ref.id} is meant for node ${ref.node_id} (${classType ?? "no class"}) input ${ref.input_name}, which is not a file input`,
      });
    } else if (placed.has(`${ref.node_id}\0${ref.input_name}`)) {
      issues.push({
        ...at,
        class_type: classType,
        reason: "placed-twice",
        detail: `inputs ${placed.get(`${ref.node_id}\0${ref.input_name}`)} and ${ref.id} are both meant for node ${ref.node_id} input ${ref.input_name}`,
      });
    } else {
      placed.set(`${ref.node_id}\0${ref.input_name}`, ref.id);
    }
  }

  for (const input of findFileInputs(workflow, rules.fileInputs)) {
    if (placed.has(`${input.nodeId}\0${input.inputName}`)) continue;
    issues.push({
      node_id: input.nodeId,
      class_type: input.classType,
      input_name: input.inputName,
      reason: "not-placed",
      detail: `node ${input.nodeId} (${input.classType}) input ${input.inputName}: only a file sent with the job is accepted here, not ${describeValue(input.value)}`,
    });
  }

  for (const [nodeId, node] of Object.entries(workflow)) {
    if (!isRecord(node)) continue;
    const classType = typeof node.class_type === "string" ? node.class_type : undefined;
    if (classType && rules.fileInputs.has(classType) && node.inputs !== undefined && !isRecord(node.inputs)) {
      issues.push({
        node_id: nodeId,
        class_type: classType,
        reason: "inputs-not-an-object",
        detail: `node ${nodeId} (${classType}): inputs must be an object`,
      });
    }
    if (isRecord(node.inputs) && Object.hasOwn(node.inputs, "filename_prefix") && typeof node.inputs.filename_prefix !== "string") {
      issues.push({
        node_id: nodeId,
        ...(classType ? { class_type: classType } : {}),
        input_name: "filename_prefix",
        reason: "prefix-not-constant",
        detail: `node ${nodeId}${classType ? ` (${classType})` : ""} input filename_prefix: must be a constant string, not ${describeValue(node.inputs.filename_prefix)}`,
      });
    }
  }

  if (issues.length === 0) return { ok: true };
  const shown = issues.slice(0, MAX_ISSUES);
  const more = issues.length > shown.length ? `\n(and ${issues.length - shown.length} more)` : "";
  return {
    ok: false,
    failure: {
      code: "invalid_workflow",
      message: `This host refused the workflow:\n${shown.map((i) => i.detail).join("\n")}${more}`.slice(0, 3_900),
      details: { refused_by: "host_policy", errors: shown },
    },
  };
}

function classIssue(d: DeniedNode): PolicyIssue {
  const why =
    d.why === "denied"
      ? "is never run on this service"
      : d.why === "api-node"
        ? "is an API node (it calls a paid outside service), which this service does not run"
        : "is not among the node classes this host's lock file allows";
  return { node_id: d.nodeId, class_type: d.classType, reason: d.why, detail: `node ${d.nodeId}: ${d.classType} ${why}` };
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "a link from another node (it could compute any path at run time)";
  if (typeof value === "string") return "a file name, path or [input]/[output]/[temp] suffix (that would open a file on the host)";
  if (value === null || value === undefined) return "an empty value";
  return `a ${typeof value}`;
}
