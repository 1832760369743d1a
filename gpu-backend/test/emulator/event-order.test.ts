// The canonical WebSocket sequence of the protocol reference (§2.5) for EmptyImage → SaveImage,
// including the identical rerun served from the cache.
import { describe, it } from "vitest";
import { minimalPrompt, queuePrompt, startTestEmulator, WsRecorder } from "./harness.ts";

const strip = (m: { type: string; data: Record<string, unknown> }) => {
  if (m.type === "progress_state") {
    const nodes = m.data.nodes as Record<string, { state: string }>;
    return `progress_state ${Object.entries(nodes)
      .map(([id, n]) => `${id}:${n.state}`)
      .join(",")}`;
  }
  if (m.type === "executing" || m.type === "executed") return `${m.type} ${m.data.node}`;
  if (m.type === "status") return `status ${(m.data.status as { exec_info: { queue_remaining: number } }).exec_info.queue_remaining}`;
  return m.type;
};

describe("event order", () => {
  it("matches ComfyUI's sequence for a fresh EmptyImage → SaveImage prompt", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "client-a");
    const promptId = await queuePrompt(emulator, minimalPrompt(), "client-a");
    await ws.waitForDone(promptId);

    const sequence = ws.messages.slice(1).map(strip);
    expect(sequence).toEqual([
      "status 1",
      "status 1",
      "execution_start",
      "execution_cached",
      "progress_state 1:running",
      "executing 1",
      "progress_state 1:finished",
      "progress_state 1:finished,2:running",
      "executing 2",
      "executed 2",
      "progress_state 1:finished,2:finished",
      "execution_success",
      "status 0",
      "executing null",
    ]);
    const byType = (t: string) => ws.messages.find((m) => m.type === t)?.data;
    expect(byType("execution_start")).toEqual({ prompt_id: promptId, timestamp: expect.any(Number) });
    expect(byType("execution_cached")).toEqual({ nodes: [], prompt_id: promptId, timestamp: expect.any(Number) });
    expect(ws.messages.find((m) => m.type === "executing" && m.data.node === "1")?.data).toEqual({ node: "1", display_node: "1", prompt_id: promptId });
    expect(byType("executed")).toEqual({
      node: "2",
      display_node: "2",
      output: { images: [{ filename: "ComfyUI_00001_.png", subfolder: "", type: "output" }] },
      prompt_id: promptId,
    });
    expect(ws.messages.at(-1)?.data).toEqual({ node: null, prompt_id: promptId });
    const finalState = ws.messages.filter((m) => m.type === "progress_state").at(-1)?.data.nodes as Record<string, unknown>;
    expect(finalState["2"]).toEqual({
      value: 1,
      max: 1,
      state: "finished",
      node_id: "2",
      prompt_id: promptId,
      display_node_id: "2",
      parent_node_id: null,
      real_node_id: "2",
    });
  });

  it("serves an identical rerun from the cache: executed repeats the same file, nothing executes", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "client-a");
    const first = await queuePrompt(emulator, minimalPrompt(), "client-a");
    await ws.waitForDone(first);
    const second = await queuePrompt(emulator, minimalPrompt(), "client-a");
    await ws.waitForDone(second);

    const rerun = ws.messages.filter((m) => m.data.prompt_id === second).map(strip);
    expect(rerun).toEqual(["execution_start", "execution_cached", "executed 2", "progress_state 2:finished", "execution_success", "executing null"]);
    const cached = ws.messages.find((m) => m.type === "execution_cached" && m.data.prompt_id === second);
    expect(cached?.data.nodes).toEqual(["1", "2"]);
    const executed = ws.messages.find((m) => m.type === "executed" && m.data.prompt_id === second);
    expect(executed?.data.output).toEqual({ images: [{ filename: "ComfyUI_00001_.png", subfolder: "", type: "output" }] });
  });

  it("sends a changed prompt through the executor again and numbers the next file", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "client-a");
    await ws.waitForDone(await queuePrompt(emulator, minimalPrompt(), "client-a"));
    const second = await queuePrompt(emulator, minimalPrompt("ComfyUI", 65), "client-a");
    await ws.waitForDone(second);
    const executed = ws.messages.find((m) => m.type === "executed" && m.data.prompt_id === second);
    expect(executed?.data.output).toEqual({ images: [{ filename: "ComfyUI_00002_.png", subfolder: "", type: "output" }] });
  });
});
