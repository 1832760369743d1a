// Cancellation: /interrupt with and without prompt_id (0.3.64 semantics), where interrupts
// land (sampler steps, node boundaries, polling nodes), and deleting/clearing queued prompts.
import { describe, it } from "vitest";
import { get, post, queuePrompt, startTestEmulator, WsRecorder, waitForHistory } from "./harness.ts";

const samplerPrompt = (steps: number, stepMs: number) => ({
  "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed: 1, steps, denoise: 1.0, step_ms: stepMs } },
  "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "s" } },
});
const hangPrompt = { "1": { class_type: "HangEmu", inputs: {} } };
const gatePrompt = (name: string) => ({
  "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  "2": { class_type: "GateEmu", inputs: { image: ["1", 0], name, step_ms: 0 } },
  "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "gated" } },
});

describe("interrupt and cancel", () => {
  it("interrupts the running prompt by id between sampler steps", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const promptId = await queuePrompt(emulator, samplerPrompt(1000, 5), "c");
    await ws.waitFor((m) => m.type === "progress" && m.data.prompt_id === promptId);
    expect((await post(emulator, "/interrupt", { prompt_id: promptId })).status).toBe(200);
    await ws.waitForDone(promptId);

    const interrupted = ws.messages.find((m) => m.type === "execution_interrupted");
    expect(interrupted?.data).toEqual({ prompt_id: promptId, node_id: "2", node_type: "KSamplerEmu", executed: ["1"], timestamp: expect.any(Number) });
    const types = ws.messages.map((m) => m.type);
    expect(types).not.toContain("execution_success");
    expect(types.slice(types.indexOf("execution_interrupted"))).toEqual(["execution_interrupted", "status", "executing"]);
    const lastProgress = ws.messages.filter((m) => m.type === "progress").at(-1)?.data.value as number;
    expect(lastProgress).toBeLessThan(1000);

    const entry = await waitForHistory(emulator, promptId);
    expect(entry.status).toMatchObject({ status_str: "error", completed: false });
    expect((entry.status as { messages: Array<[string]> }).messages.at(-1)?.[0]).toBe("execution_interrupted");
  });

  it("ignores an interrupt naming a prompt that is not running", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    // Held at the gate, so the interrupt surely arrives while the prompt runs.
    const promptId = await queuePrompt(emulator, gatePrompt("g"), "c");
    await ws.waitFor((m) => m.type === "executing" && m.data.node === "2");
    expect((await post(emulator, "/interrupt", { prompt_id: "someone-else" })).status).toBe(200);
    emulator.openGate("g");
    await ws.waitForDone(promptId);
    expect(ws.messages.some((m) => m.type === "execution_success")).toBe(true);
    expect(ws.messages.some((m) => m.type === "execution_interrupted")).toBe(false);
  });

  it("GateEmu holds its prompt until the gate opens, and an interrupt stops it like HangEmu", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const held = await queuePrompt(emulator, gatePrompt("stays-shut"), "c");
    await ws.waitFor((m) => m.type === "executing" && m.data.node === "2" && m.data.prompt_id === held);
    expect((await post(emulator, "/interrupt", { prompt_id: held })).status).toBe(200);
    await ws.waitForDone(held);
    expect(ws.messages.find((m) => m.type === "execution_interrupted")?.data).toMatchObject({
      prompt_id: held,
      node_id: "2",
      node_type: "GateEmu",
      executed: ["1"],
    });

    const opened = await queuePrompt(emulator, gatePrompt("opens"), "c");
    await ws.waitFor((m) => m.type === "executing" && m.data.node === "2" && m.data.prompt_id === opened);
    emulator.openGate("opens");
    await ws.waitForDone(opened);
    expect(ws.messages.some((m) => m.type === "execution_success" && m.data.prompt_id === opened)).toBe(true);
    const entry = await waitForHistory(emulator, opened);
    expect(Object.keys(entry.outputs as object)).toEqual(["3"]);
  });

  it("stops a hanging node with a global interrupt (empty body)", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const promptId = await queuePrompt(emulator, hangPrompt, "c");
    await ws.waitFor((m) => m.type === "executing" && m.data.node === "1");
    const res = await fetch(`${emulator.url}/interrupt`, { method: "POST", signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    await ws.waitForDone(promptId);
    expect(ws.messages.find((m) => m.type === "execution_interrupted")?.data).toMatchObject({ node_id: "1", node_type: "HangEmu", executed: [] });
  });

  it("lets a node without progress finish and interrupts at the next node boundary", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const promptId = await queuePrompt(
      emulator,
      {
        // Like DelayEmu (no progress, interrupts unnoticed), but it finishes when the test says.
        "1": { class_type: "GateEmu", inputs: { name: "decode", step_ms: 0, interruptible: false } },
        "2": { class_type: "RaiseErrorEmu", inputs: { image: ["1", 0], message: "not reached", exception_type: "RuntimeError" } },
      },
      "c",
    );
    await ws.waitFor((m) => m.type === "executing" && m.data.node === "1");
    await post(emulator, "/interrupt", {});
    emulator.openGate("decode");
    await ws.waitForDone(promptId);
    expect(ws.messages.find((m) => m.type === "execution_interrupted")?.data).toMatchObject({ node_id: "2", executed: ["1"] });
    expect(ws.messages.some((m) => m.type === "execution_error")).toBe(false);
  });

  it("loses an interrupt sent while idle", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    await post(emulator, "/interrupt", {});
    const promptId = await queuePrompt(emulator, samplerPrompt(2, 1), "c");
    await ws.waitForDone(promptId);
    expect(ws.messages.some((m) => m.type === "execution_success")).toBe(true);
  });

  it("deletes a queued prompt silently: no events, no history", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const running = await queuePrompt(emulator, hangPrompt, "c");
    await ws.waitFor((m) => m.type === "executing" && m.data.node === "1");
    const queued = await queuePrompt(emulator, samplerPrompt(1, 1), "c");
    const statusBefore = ws.messages.filter((m) => m.type === "status").length;

    expect((await post(emulator, "/queue", { delete: [queued, "not-there"] })).status).toBe(200);
    const queue = (await get(emulator, "/queue")).json as { queue_running: unknown[][]; queue_pending: unknown[][] };
    expect(queue.queue_pending).toEqual([]);
    expect(queue.queue_running.map((item) => item[1])).toEqual([running]);
    await ws.waitUntil(() => (ws.messages.filter((m) => m.type === "status").length > statusBefore ? true : undefined), 2000, "status");

    await post(emulator, "/interrupt", { prompt_id: running });
    await ws.waitForDone(running);
    expect(ws.messages.some((m) => m.data.prompt_id === queued)).toBe(false);
    expect((await get(emulator, `/history/${queued}`)).json).toEqual({});
  });

  it("clears pending prompts but spares the running one", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const running = await queuePrompt(emulator, hangPrompt, "c");
    await ws.waitFor((m) => m.type === "executing" && m.data.node === "1");
    await queuePrompt(emulator, samplerPrompt(1, 1), "c");
    await queuePrompt(emulator, samplerPrompt(2, 1), "c");
    expect(((await get(emulator, "/prompt")).json as { exec_info: { queue_remaining: number } }).exec_info.queue_remaining).toBe(3);

    await post(emulator, "/queue", { clear: true });
    const queue = (await get(emulator, "/queue")).json as { queue_running: unknown[][]; queue_pending: unknown[] };
    expect(queue.queue_pending).toEqual([]);
    expect(queue.queue_running.map((item) => item[1])).toEqual([running]);
    expect(((await get(emulator, "/prompt")).json as { exec_info: { queue_remaining: number } }).exec_info.queue_remaining).toBe(1);
    await post(emulator, "/interrupt", {});
    await ws.waitForDone(running);
  });
});
