// The queue: one prompt at a time, heap order by number (front = negative), GET /queue 5-tuples,
// queue_remaining = pending + running.
import { describe, it } from "vitest";
import { get, post, queuePrompt, startTestEmulator, WsRecorder } from "./harness.ts";

const hang = { "1": { class_type: "HangEmu", inputs: {} } };
const quick = (tag: string) => ({ "1": { class_type: "DelayEmu", inputs: { ms: 0, tag } } });

describe("prompt queue", () => {
  it("runs one prompt at a time, lowest number first, front prompts ahead of the rest", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const blocker = await queuePrompt(emulator, hang, "c");
    await ws.waitFor((m) => m.type === "executing" && m.data.prompt_id === blocker);
    const normal1 = await queuePrompt(emulator, quick("a"), "c");
    const normal2 = await queuePrompt(emulator, quick("b"), "c");
    const urgent = await queuePrompt(emulator, quick("c"), "c", { front: true });

    const queue = (await get(emulator, "/queue")).json as { queue_running: unknown[][]; queue_pending: unknown[][] };
    expect(queue.queue_running).toHaveLength(1);
    expect(queue.queue_running[0]).toEqual([0, blocker, hang, { client_id: "c" }, ["1"]]);
    // The raw heap array, as heapq leaves it after pushing numbers 1, 2, -3.
    expect(queue.queue_pending.map((item) => [item[0], item[1]])).toEqual([
      [-3, urgent],
      [2, normal2],
      [1, normal1],
    ]);
    expect((await get(emulator, "/prompt")).json).toEqual({ exec_info: { queue_remaining: 4 } });

    await post(emulator, "/interrupt", { prompt_id: blocker });
    await ws.waitForDone(normal2);
    const starts = ws.messages.filter((m) => m.type === "execution_start").map((m) => m.data.prompt_id);
    expect(starts).toEqual([blocker, urgent, normal1, normal2]);
    // Never two prompts in flight: each start comes after the previous prompt's executing null.
    const order = ws.messages.filter((m) => m.type === "execution_start" || (m.type === "executing" && m.data.node === null)).map((m) => m.type);
    expect(order).toEqual(["execution_start", "executing", "execution_start", "executing", "execution_start", "executing", "execution_start", "executing"]);
  });

  it("broadcasts status with pending + running on enqueue, dequeue and finish", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const watcher = await WsRecorder.connect(emulator, "watcher");
    const id = await queuePrompt(emulator, quick("x"), "someone");
    await watcher.waitUntil(() => (watcher.messages.filter((m) => m.type === "status").length >= 4 ? true : undefined), 2000, "status broadcasts");
    const remaining = watcher.messages.map((m) => (m.data.status as { exec_info: { queue_remaining: number } }).exec_info.queue_remaining);
    expect(remaining).toEqual([0, 1, 1, 0]);
    expect(watcher.messages.some((m) => m.data.prompt_id === id)).toBe(false);
  });
});
