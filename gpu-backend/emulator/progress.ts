/**
 * Per-prompt node progress (comfy_execution/progress.py) and its `progress_state` messages.
 *
 * Every start, update and finish of a node sends the state of all non-pending nodes of the
 * prompt: start = running 0/1, update = running value/max, finish = finished with value = max.
 */

type NodeState = { state: "running" | "finished"; value: number; max: number };

export class ProgressRegistry {
  private readonly nodes = new Map<string, NodeState>();
  private readonly promptId: string;
  private readonly emit: (data: Record<string, unknown>) => void;

  constructor(promptId: string, emit: (data: Record<string, unknown>) => void) {
    this.promptId = promptId;
    this.emit = emit;
  }

  start(nodeId: string): void {
    this.nodes.set(nodeId, { state: "running", value: 0, max: 1 });
    this.send();
  }

  update(nodeId: string, value: number, max: number): void {
    this.nodes.set(nodeId, { state: "running", value, max });
    this.send();
  }

  finish(nodeId: string): void {
    const entry = this.nodes.get(nodeId) ?? { state: "running", value: 0, max: 1 };
    this.nodes.set(nodeId, { state: "finished", value: entry.max, max: entry.max });
    this.send();
  }

  private send(): void {
    // A Map keeps start order for integer-like ids, as ComfyUI's dict does.
    const nodes = new Map<string, unknown>();
    for (const [id, s] of this.nodes) {
      nodes.set(id, {
        value: s.value,
        max: s.max,
        state: s.state,
        node_id: id,
        prompt_id: this.promptId,
        display_node_id: id,
        parent_node_id: null,
        real_node_id: id,
      });
    }
    this.emit({ prompt_id: this.promptId, nodes });
  }
}
