// Per-client routing of WebSocket events (protocol reference §2.4): per-prompt events only to
// the submitting client_id, `status` to everyone, nothing buffered, reconnect semantics.
import { describe, it } from "vitest";
import { waitFor } from "../support/harness.ts";
import { queuePrompt, startTestEmulator, WsRecorder } from "./harness.ts";

const sampler = (steps: number, stepMs = 1) => ({
  "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed: 3, steps, denoise: 1, step_ms: stepMs } },
  "3": { class_type: "PreviewImage", inputs: { images: ["2", 0] } },
});

describe("per-client routing", () => {
  it("sends client A's prompt events only to A; B sees only status broadcasts", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const a = await WsRecorder.connect(emulator, "client-a");
    const b = await WsRecorder.connect(emulator, "client-b");
    const promptId = await queuePrompt(emulator, sampler(3), "client-a");
    await a.waitForDone(promptId);
    // B got the status broadcasts for enqueue, dequeue and finish, and nothing else.
    await b.waitUntil(() => (b.messages.filter((m) => m.type === "status").length >= 4 ? true : undefined), 2000, "status x4");
    expect(new Set(b.messages.map((m) => m.type))).toEqual(new Set(["status"]));
    expect(a.messages.filter((m) => m.type === "progress")).toHaveLength(3);
    expect(a.messages.some((m) => m.type === "executed")).toBe(true);
  });

  it("broadcasts progress but drops execution events for a prompt without client_id", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const a = await WsRecorder.connect(emulator, "client-a");
    const b = await WsRecorder.connect(emulator, "client-b");
    const promptId = await queuePrompt(emulator, sampler(2), undefined);
    for (const ws of [a, b]) {
      await ws.waitFor((m) => m.type === "progress" && m.data.value === 2);
      await ws.waitUntil(() => (ws.messages.filter((m) => m.type === "status").length >= 4 ? true : undefined), 2000, "final status");
      const types = new Set(ws.messages.map((m) => m.type));
      expect(types).toEqual(new Set(["status", "progress_state", "progress"]));
      expect(ws.messages.find((m) => m.type === "progress")?.data).toEqual({ value: 1, max: 2, prompt_id: promptId, node: "2" });
    }
  });

  it("greets with the sid, random when no clientId is given", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const named = await WsRecorder.connect(emulator, "my-id");
    expect(named.messages[0]).toEqual({ type: "status", data: { status: { exec_info: { queue_remaining: 0 } }, sid: "my-id" } });
    const anonymous = await WsRecorder.connect(emulator);
    expect(anonymous.messages[0]?.data.sid).toMatch(/^[0-9a-f]{32}$/);
  });

  it("buffers nothing for an absent client and resumes on reconnect, re-announcing the running node", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const first = await WsRecorder.connect(emulator, "client-a");
    const promptId = await queuePrompt(emulator, sampler(60, 5), "client-a");
    await first.waitFor((m) => m.type === "progress");
    first.close();
    await first.waitForClose();
    // The server must have handled the close before the reconnect, or it would unroute the new socket.
    await waitFor(() => emulator.wsConnections() === 0, 5_000, "the server to drop the old socket");

    const second = await WsRecorder.connect(emulator, "client-a");
    // The greeting is followed by `executing` for the running node (without prompt_id).
    await second.waitFor((m) => m.type === "executing");
    expect(second.messages[1]).toEqual({ type: "executing", data: { node: "2" } });
    await second.waitForDone(promptId);
    expect(second.messages.some((m) => m.type === "execution_start")).toBe(false); // lost, not replayed
    const values = second.messages.filter((m) => m.type === "progress").map((m) => m.data.value as number);
    expect(values.length).toBeGreaterThan(0);
    expect(values[0]).toBeGreaterThan(1);
    expect(values.at(-1)).toBe(60);
  });

  it("reproduces ComfyUI's reconnect pitfall: closing the old socket unroutes the new one", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const old = await WsRecorder.connect(emulator, "client-a");
    const fresh = await WsRecorder.connect(emulator, "client-a");
    old.close();
    await old.waitForClose();
    await waitFor(() => emulator.wsConnections() === 1, 5_000, "the server to drop the old socket");
    const watcher = await WsRecorder.connect(emulator, "watcher");
    const promptId = await queuePrompt(emulator, sampler(2), "client-a");
    // The prompt runs to the end (the watcher sees enqueue, dequeue and finish)…
    await watcher.waitUntil(() => (watcher.messages.filter((m) => m.type === "status").length >= 4 ? true : undefined), 3000, "finish");
    // …but the still-open new socket got none of its events.
    expect(fresh.closed).toBe(false);
    expect(fresh.messages.some((m) => m.data.prompt_id === promptId)).toBe(false);
  });
});
