/**
 * Puts each problem of a validation (or of a refused submit) on the node it belongs to: by its
 * `node_id`, else by its pointer (`/workflow/<id>/…`). What belongs to no node is shown on its own.
 */
export interface NodeError {
  pointer: string;
  detail: string;
  code?: string | undefined;
  node_id?: string | undefined;
  input_name?: string | undefined;
}

const unescapeSegment = (segment: string) => segment.replace(/~1/g, "/").replace(/~0/g, "~");

export function nodeOf(e: NodeError): string | null {
  if (e.node_id) return e.node_id;
  const m = /^\/workflow\/([^/]+)(?:\/|$)/.exec(e.pointer);
  return m?.[1] ? unescapeSegment(m[1]) : null;
}

export function groupByNode(errors: readonly NodeError[], nodes: ReadonlySet<string>): { byNode: Map<string, NodeError[]>; general: NodeError[] } {
  const byNode = new Map<string, NodeError[]>();
  const general: NodeError[] = [];
  for (const e of errors) {
    const id = nodeOf(e);
    if (id === null || !nodes.has(id)) {
      general.push(e);
      continue;
    }
    const list = byNode.get(id) ?? [];
    list.push(e);
    byNode.set(id, list);
  }
  return { byNode, general };
}
