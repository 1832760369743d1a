// The history entry (written before `executing null`), outputs of any node/key with a filename,
// `{}` for unfinished or unknown ids, windowing with max_items/offset, delete and clear.
import { describe, it } from "vitest";
import { get, post, queuePrompt, startTestEmulator, WsRecorder, waitForHistory } from "./harness.ts";

const imageAndAudio = {
  "1": { class_type: "EmptyImage", inputs: { width: 16, height: 16, batch_size: 2, color: 0x00ff00 } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "job-42/ComfyUI" } },
  "3": { class_type: "EmptyAudioEmu", inputs: { seconds: 0.05, sample_rate: 8000, frequency: 440 } },
  "4": { class_type: "SaveAudioEmu", inputs: { audio: ["3", 0], filename_prefix: "audio/ComfyUI" } },
};

describe("history", () => {
  it("holds the entry ComfyUI writes, before executing null arrives", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const promptId = await queuePrompt(emulator, imageAndAudio, "c", { extra_data: { extra_pnginfo: { workflow: { v: 1 } }, api_key_comfy_org: "secret" } });
    await ws.waitForDone(promptId);
    // No polling: the entry must already be there when the completion event arrives.
    const res = await get(emulator, `/history/${promptId}`);
    const entry = (res.json as Record<string, Record<string, unknown>>)[promptId];
    expect(Object.keys(entry ?? {})).toEqual(["prompt", "outputs", "status", "meta"]);
    expect(entry?.prompt).toEqual([0, promptId, imageAndAudio, { extra_pnginfo: { workflow: { v: 1 } }, client_id: "c" }, ["2", "4"]]);
    expect(entry?.outputs).toEqual({
      "2": {
        images: [
          { filename: "ComfyUI_00001_.png", subfolder: "job-42", type: "output" },
          { filename: "ComfyUI_00002_.png", subfolder: "job-42", type: "output" },
        ],
      },
      "4": { audio: [{ filename: "ComfyUI_00001_.wav", subfolder: "audio", type: "output" }] },
    });
    expect(entry?.status).toEqual({
      status_str: "success",
      completed: true,
      messages: [
        ["execution_start", { prompt_id: promptId, timestamp: expect.any(Number) }],
        ["execution_cached", { nodes: [], prompt_id: promptId, timestamp: expect.any(Number) }],
        ["execution_success", { prompt_id: promptId, timestamp: expect.any(Number) }],
      ],
    });
    expect(entry?.meta).toEqual({
      "2": { node_id: "2", display_node: "2", parent_node: null, real_node_id: "2" },
      "4": { node_id: "4", display_node: "4", parent_node: null, real_node_id: "4" },
    });

    // Every output with a filename can be fetched; the audio is a real WAV.
    const wav = await fetch(`${emulator.url}/view?filename=ComfyUI_00001_.wav&subfolder=audio&type=output`);
    expect(wav.headers.get("content-type")).toBe("audio/x-wav");
    const bytes = Buffer.from(await wav.arrayBuffer());
    expect(bytes.toString("latin1", 0, 4)).toBe("RIFF");
    expect(bytes.toString("latin1", 8, 12)).toBe("WAVE");
    expect(bytes.readUInt32LE(24)).toBe(8000);
    expect(bytes.readUInt32LE(40)).toBe(400 * 2);
  });

  it("answers {} for unknown, queued and running prompts, never 404", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    expect((await get(emulator, "/history/unknown")).json).toEqual({});
    const running = await queuePrompt(emulator, { "1": { class_type: "HangEmu", inputs: {} } }, "c");
    const queued = await queuePrompt(emulator, { "1": { class_type: "HangEmu", inputs: {} } }, "c");
    await ws.waitFor((m) => m.type === "executing" && m.data.prompt_id === running);
    for (const id of [running, queued]) {
      const res = await get(emulator, `/history/${id}`);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({});
    }
    await post(emulator, "/queue", { clear: true });
    await post(emulator, "/interrupt", {});
    await ws.waitForDone(running);
  });

  it("windows /history with max_items and offset in completion order, and deletes/clears", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = await queuePrompt(emulator, { "1": { class_type: "RaiseErrorEmu", inputs: { message: `m${i}`, exception_type: "RuntimeError" } } }, undefined);
      await waitForHistory(emulator, id);
      ids.push(id);
    }
    const keys = async (query: string) => Object.keys((await get(emulator, `/history${query}`)).json as object);
    expect(await keys("")).toEqual(ids);
    expect(await keys("?max_items=2")).toEqual(ids.slice(2));
    expect(await keys("?max_items=2&offset=1")).toEqual(ids.slice(1, 3));
    expect(await keys("?offset=3")).toEqual(ids.slice(3));
    expect((await get(emulator, "/history?max_items=two")).status).toBe(500);

    await post(emulator, "/history", { delete: [ids[0], "unknown"] });
    expect(await keys("")).toEqual(ids.slice(1));
    await post(emulator, "/history", { clear: true });
    expect(await keys("")).toEqual([]);
  });

  it("reports the cached UI of a rerun again (same filename)", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const first = await queuePrompt(emulator, imageAndAudio, undefined);
    const firstEntry = await waitForHistory(emulator, first);
    const second = await queuePrompt(emulator, imageAndAudio, undefined);
    const secondEntry = await waitForHistory(emulator, second);
    expect(secondEntry.outputs).toEqual(firstEntry.outputs);
    const cached = (secondEntry.status as { messages: Array<[string, { nodes?: string[] }]> }).messages[1]?.[1].nodes;
    expect(cached).toEqual(["1", "2", "3", "4"]);
  });

  it("forgets cached results after /free {free_memory: true}", async ({ expect }) => {
    const emulator = await startTestEmulator();
    await waitForHistory(emulator, await queuePrompt(emulator, imageAndAudio, undefined));
    expect((await post(emulator, "/free", { free_memory: true })).status).toBe(200);
    const again = await waitForHistory(emulator, await queuePrompt(emulator, imageAndAudio, undefined));
    expect((again.outputs as Record<string, { images?: Array<{ filename: string }> }>)["2"]?.images?.[0]?.filename).toBe("ComfyUI_00003_.png");
  });
});
