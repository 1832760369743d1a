/**
 * Structural check of a submitted ComfyUI workflow (API format, comfyui-protocol.md §3.1) before
 * anything is stored: an object of nodes `{class_type, inputs, _meta?}` keyed by node id, where a
 * list input is always a link `["<node id>", <output index>]` to a node of the same workflow.
 *
 * Whether a class exists and its inputs fit is ComfyUI's own validation on the host (its errors
 * come back as `invalid_workflow`); here we reject what can never run, with a JSON pointer per
 * problem, and a UI-format graph with a note on how to export the API format.
 */

export interface WorkflowIssue {
  pointer: string;
  detail: string;
}

export type WorkflowCheck = { ok: true; nodeCount: number } | { ok: false; detail: string; errors: WorkflowIssue[] };

const NODE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_ISSUES = 50;
const MAX_INPUTS_PER_NODE = 512;

export const UI_FORMAT_HINT =
  "This looks like a workflow saved in ComfyUI's UI format (it has `nodes` and `links`). Send the API format instead: in ComfyUI use Workflow → Export (API), or enable dev mode in the settings and use “Save (API Format)”.";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 6901 escaping of one reference token. */
export function pointerToken(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

export function checkWorkflow(workflow: unknown, maxNodes: number, base = "/workflow"): WorkflowCheck {
  if (!isObject(workflow)) {
    return fail("`workflow` must be a JSON object of nodes keyed by node id (ComfyUI API format).", [{ pointer: base, detail: "must be an object" }]);
  }
  if (Array.isArray(workflow.nodes) || (Array.isArray(workflow.links) && "last_node_id" in workflow)) {
    return fail(UI_FORMAT_HINT, [{ pointer: `${base}/nodes`, detail: "UI-format graph; the API format is required" }]);
  }
  const ids = Object.keys(workflow);
  if (ids.length === 0) return fail("`workflow` has no nodes.", [{ pointer: base, detail: "must contain at least one node" }]);
  if (ids.length > maxNodes) {
    return fail(`\`workflow\` has ${ids.length} nodes; the limit is ${maxNodes}.`, [{ pointer: base, detail: `more than ${maxNodes} nodes` }]);
  }

  const issues: WorkflowIssue[] = [];
  const add = (pointer: string, detail: string) => {
    if (issues.length < MAX_ISSUES) issues.push({ pointer, detail });
  };
  const edges = new Map<string, string[]>();

  for (const id of ids) {
    const at = `${base}/${pointerToken(id)}`;
    if (!NODE_ID.test(id)) add(at, "node ids are 1-64 characters of letters, digits and _ . : -");
    const node = workflow[id];
    if (!isObject(node)) {
      add(at, "must be an object with `class_type` and `inputs`");
      continue;
    }
    if (typeof node.class_type !== "string" || node.class_type.length === 0 || node.class_type.length > 256) {
      add(`${at}/class_type`, 'must be a non-empty string (the node\'s class, e.g. "SaveImage")');
    }
    if (!isObject(node.inputs)) {
      add(`${at}/inputs`, "must be an object of input values and links");
      continue;
    }
    if ("_meta" in node && !isObject(node._meta)) add(`${at}/_meta`, "must be an object when present");
    const inputNames = Object.keys(node.inputs);
    if (inputNames.length > MAX_INPUTS_PER_NODE) add(`${at}/inputs`, `more than ${MAX_INPUTS_PER_NODE} inputs`);
    const targets: string[] = [];
    for (const name of inputNames) {
      const value = node.inputs[name];
      if (!Array.isArray(value)) continue;
      const ptr = `${at}/inputs/${pointerToken(name)}`;
      const [source, slot] = value;
      if (value.length !== 2 || typeof source !== "string" || !Number.isInteger(slot) || (slot as number) < 0) {
        add(ptr, 'a list is read as a link and must be ["<node id>", <output index>]; wrap a list constant as {"__value__": [...]}');
      } else if (!Object.hasOwn(workflow, source)) {
        add(ptr, `links to node "${source}", which is not in the workflow`);
      } else {
        targets.push(source);
      }
    }
    edges.set(id, targets);
  }

  if (issues.length === 0) {
    const cycle = findCycle(edges);
    if (cycle) add(`${base}/${pointerToken(cycle[0]!)}`, `nodes form a cycle: ${cycle.join(" → ")}`);
  }
  if (issues.length > 0) {
    return fail(`\`workflow\` is not a valid ComfyUI API-format prompt: ${issues[0]!.pointer} ${issues[0]!.detail}.`, issues);
  }
  return { ok: true, nodeCount: ids.length };
}

function fail(detail: string, errors: WorkflowIssue[]): WorkflowCheck {
  return { ok: false, detail, errors };
}

/** Iterative DFS (a workflow may be deep); returns the ids on a cycle, or null. */
function findCycle(edges: Map<string, string[]>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1 = on the current path, 2 = done
  for (const start of edges.keys()) {
    if (state.has(start)) continue;
    const path: string[] = [];
    const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
    state.set(start, 1);
    path.push(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const targets = edges.get(top.id) ?? [];
      if (top.next < targets.length) {
        const t = targets[top.next++]!;
        const s = state.get(t);
        if (s === 1) return [...path.slice(path.indexOf(t)), t];
        if (s === undefined) {
          state.set(t, 1);
          path.push(t);
          stack.push({ id: t, next: 0 });
        }
      } else {
        state.set(top.id, 2);
        path.pop();
        stack.pop();
      }
    }
  }
  return null;
}
