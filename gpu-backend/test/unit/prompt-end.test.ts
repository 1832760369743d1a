// How the tracker learns a prompt's end (src/comfy/prompt-tracker.ts): a run that succeeded with
// every message on one WebSocket connection ends from those messages, with no /history call; any
// other run (an error, a reconnect mid-run, a start the socket never showed) asks /history, the
// authority. The messages are the ones ComfyUI 0.3.64 sends (execution.py), in its order.
import { describe, it } from "vitest";
import type { ComfyClient } from "../../src/comfy/client.ts";
import { type PromptEnd, PromptTracker } from "../../src/comfy/prompt-tracker.ts";
import type { HistoryEntry } from "../../src/comfy/schemas.ts";
import { createLogger } from "../../src/log.ts";

const IMAGE = { filename: "p_00001_.png", subfolder: "saas/job_1", type: "output" };
const HISTORY: HistoryEntry = {
  outputs: { "2": { images: [IMAGE] } },
  status: { status_str: "success", completed: true, messages: [["execution_success", { prompt_id: "a" }]] },
};

function setup() {
  const historyCalls: string[] = [];
  const client = {
    history: async (id: string) => {
      historyCalls.push(id);
      return HISTORY;
    },
    queue: async () => ({ queue_running: [], queue_pending: [] }),
  } as unknown as ComfyClient;
  const tracker = new PromptTracker({ client, log: createLogger("error"), pollMs: 60_000, stuckTimeoutMs: 60_000, onStuck: async () => {} });
  const ends: PromptEnd[] = [];
  tracker.watch("a", { onStarted() {}, onProgress() {}, onEnded: (end) => ends.push(end) });
  tracker.markSubmitted("a");
  return { tracker, ends, historyCalls };
}

/** One run's messages: start, the cached nodes, one executed node, then `tail`, then `executing null`. */
function run(t: PromptTracker, tail: Array<{ type: string; data: Record<string, unknown> }>, connectionOf: (i: number) => number = () => 1): void {
  const messages = [
    { type: "execution_start", data: { prompt_id: "a", timestamp: 1 } },
    { type: "execution_cached", data: { nodes: ["1"], prompt_id: "a", timestamp: 2 } },
    { type: "executing", data: { node: "2", display_node: "2", prompt_id: "a" } },
    { type: "executed", data: { node: "2", display_node: "2", output: { images: [IMAGE] }, prompt_id: "a" } },
    ...tail,
    { type: "executing", data: { node: null, prompt_id: "a" } },
  ];
  for (const [i, m] of messages.entries()) t.handleMessage(m, connectionOf(i));
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("the end of a prompt", () => {
  it("a success seen whole on one connection ends from the messages, with no /history call", async ({ expect }) => {
    const { tracker, ends, historyCalls } = setup();
    run(tracker, [{ type: "execution_success", data: { prompt_id: "a", timestamp: 3 } }]);
    await settle();
    expect(historyCalls).toEqual([]);
    expect(ends).toHaveLength(1);
    const end = ends[0]!;
    if (end.kind !== "finished") throw new Error(`expected finished, got ${end.kind}`);
    expect(end.entry.outputs).toEqual({ "2": { images: [IMAGE] } });
    expect(end.entry.status).toMatchObject({ status_str: "success", completed: true });
    // What the runner reads of it: the cached nodes (left out of the outputs) and the success.
    expect(end.entry.status!.messages.map(([event]) => event)).toEqual(["execution_start", "execution_cached", "execution_success"]);
  });

  it("a run that failed asks /history (the error's details live there)", async ({ expect }) => {
    const { tracker, ends, historyCalls } = setup();
    run(tracker, [{ type: "execution_error", data: { prompt_id: "a", node_id: "2", exception_message: "boom", timestamp: 3 } }]);
    await settle();
    expect(historyCalls).toEqual(["a"]);
    expect(ends[0]).toEqual({ kind: "finished", entry: HISTORY });
  });

  it("a run whose messages came on two connections asks /history: one may be missing", async ({ expect }) => {
    const { tracker, ends, historyCalls } = setup();
    run(tracker, [{ type: "execution_success", data: { prompt_id: "a", timestamp: 3 } }], (i) => (i < 2 ? 1 : 2));
    await settle();
    expect(historyCalls).toEqual(["a"]);
    expect(ends[0]).toEqual({ kind: "finished", entry: HISTORY });
  });

  it("a run whose start the socket never showed asks /history", async ({ expect }) => {
    const { tracker, ends, historyCalls } = setup();
    tracker.handleMessage({ type: "execution_success", data: { prompt_id: "a", timestamp: 3 } }, 1);
    tracker.handleMessage({ type: "executing", data: { node: null, prompt_id: "a" } }, 1);
    await settle();
    expect(historyCalls).toEqual(["a"]);
    expect(ends).toHaveLength(1);
  });
});
