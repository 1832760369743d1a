// Time and memory like a GPU host: a model file is loaded (and charged for) when it is not
// resident, stays resident while it fits the VRAM budget, and the least recently used one makes
// room. Every assertion is on the emulator's own bookkeeping (`modelMemory()`: loads, evictions,
// the load log) or on /system_stats, never on how long anything took.
import { describe, it } from "vitest";
import type { EmulatorHandle, StartOptions } from "../../emulator/index.ts";
import { waitUntil } from "../support/wait-until.ts";
import { get, post, queuePrompt, startTestEmulator, WsRecorder, waitForHistory } from "./harness.ts";
import { defaultGraph, GB, installModels } from "./model-support.ts";

const MiB = 1024 * 1024;
/** 8 GiB of VRAM: 7.5 GiB for models (the CUDA context holds 512 MiB), so one 5 GB checkpoint fits and two do not. */
const VRAM_MB = 8192;

async function gpu(options: StartOptions, files: Record<string, number>, log?: string[]): Promise<EmulatorHandle> {
  const emulator = await startTestEmulator({ vramMb: VRAM_MB, modelLoadMsPerGb: 1, ...options, ...(log ? { log: (line) => log.push(line) } : {}) });
  installModels(emulator, Object.fromEntries(Object.entries(files).map(([path, sizeBytes]) => [path, { sizeBytes }])));
  return emulator;
}

let seed = 0;
async function runWith(emulator: EmulatorHandle, ckpt: string): Promise<Record<string, unknown>> {
  // A new seed each time, so the sampler always runs (the output cache would skip an identical prompt).
  const promptId = await queuePrompt(emulator, defaultGraph({ ckpt, seed: ++seed }), undefined);
  const history = await waitForHistory(emulator, promptId, 20_000);
  return history;
}

const loads = (emulator: EmulatorHandle) => emulator.modelMemory().loadLog;

describe("model residency", () => {
  it("pays the load on every switch between two checkpoints that do not fit together", async ({ expect }) => {
    const emulator = await gpu({}, { "checkpoints/a.safetensors": 5 * GB, "checkpoints/b.safetensors": 5 * GB });
    for (const ckpt of ["a", "b", "a", "b"]) await runWith(emulator, `${ckpt}.safetensors`);
    expect(loads(emulator)).toEqual(["checkpoints/a.safetensors", "checkpoints/b.safetensors", "checkpoints/a.safetensors", "checkpoints/b.safetensors"]);
    expect(emulator.modelMemory()).toMatchObject({ loads: 4, evictions: 3, resident: [{ key: "checkpoints/b.safetensors", sizeBytes: 5 * GB }] });
  });

  it("does not load the same checkpoint twice, whether its loader is cached or runs again (--cache none)", async ({ expect }) => {
    for (const cache of ["classic", "none"] as const) {
      const emulator = await gpu({ cache }, { "checkpoints/a.safetensors": 5 * GB });
      await runWith(emulator, "a.safetensors");
      await runWith(emulator, "a.safetensors");
      expect(emulator.modelMemory(), cache).toMatchObject({ loads: 1, evictions: 0, loadLog: ["checkpoints/a.safetensors"] });
    }
  });

  it("keeps two checkpoints that fit together resident, and evicts the least recently used one for a third", async ({ expect }) => {
    const emulator = await gpu({}, { "checkpoints/a.safetensors": 3 * GB, "checkpoints/b.safetensors": 3 * GB, "checkpoints/c.safetensors": 3 * GB });
    for (const ckpt of ["a", "b", "a", "b", "a", "c", "a", "b"]) await runWith(emulator, `${ckpt}.safetensors`);
    // b was used less recently than a when c came, so b went; a stayed until b needed room again.
    expect(loads(emulator)).toEqual(["a", "b", "c", "b"].map((n) => `checkpoints/${n}.safetensors`));
    expect(emulator.modelMemory().resident.map((r) => r.key)).toEqual(["checkpoints/a.safetensors", "checkpoints/b.safetensors"]);
  });

  it("loads a checkpoint larger than the whole budget anyway, alone (ComfyUI loads it partially)", async ({ expect }) => {
    const emulator = await gpu({}, { "checkpoints/a.safetensors": 3 * GB, "checkpoints/huge.safetensors": 20 * GB });
    await runWith(emulator, "a.safetensors");
    await runWith(emulator, "huge.safetensors");
    expect(emulator.modelMemory().resident.map((r) => r.key)).toEqual(["checkpoints/huge.safetensors"]);
  });

  it("charges LoRAs as models of their own and logs the loads as ComfyUI does", async ({ expect }) => {
    const log: string[] = [];
    const emulator = await gpu({}, { "loras/style.safetensors": 0.2 * GB }, log);
    installModels(emulator, { "checkpoints/xl.safetensors": { architecture: "stable-diffusion-xl-v1-base", sizeBytes: 6.9 * GB } });
    const prompt = defaultGraph({ ckpt: "xl.safetensors" });
    prompt["10"] = { class_type: "LoraLoaderModelOnly", inputs: { model: ["4", 0], lora_name: "style.safetensors", strength_model: 0.8 } };
    prompt["3"]!.inputs.model = ["10", 0];
    await waitForHistory(emulator, await queuePrompt(emulator, prompt, undefined), 20_000);
    expect(loads(emulator)).toEqual(["checkpoints/xl.safetensors", "loras/style.safetensors"]);
    expect(log).toContain("Requested to load SDXL");
  });
});

describe("VRAM in /system_stats and /free", () => {
  it("reports the budget and what the resident models use, and frees it on /free {unload_models}", async ({ expect }) => {
    const emulator = await gpu({}, { "checkpoints/a.safetensors": 2 * GB });
    const device = async () => ((await get(emulator, "/system_stats")).json as { devices: Array<Record<string, number>> }).devices[0] as Record<string, number>;
    expect(await device()).toMatchObject({ vram_total: VRAM_MB * MiB, vram_free: (VRAM_MB - 512) * MiB, torch_vram_total: 0 });

    await runWith(emulator, "a.safetensors");
    expect(await device()).toMatchObject({ vram_total: VRAM_MB * MiB, vram_free: (VRAM_MB - 512) * MiB - 2 * GB, torch_vram_total: 2 * GB });

    expect((await post(emulator, "/free", { unload_models: true })).status).toBe(200);
    // The worker applies /free when idle; wait for it (bounded), then the next prompt loads again.
    const listeners = new Set<() => void>();
    const poll = setInterval(() => {
      for (const l of listeners) l();
    }, 10);
    try {
      await waitUntil(
        listeners,
        () => (emulator.modelMemory().resident.length === 0 ? true : undefined),
        5000,
        "models unloaded",
        () => "",
      );
    } finally {
      clearInterval(poll);
    }
    expect((await device()).vram_free).toBe((VRAM_MB - 512) * MiB);
    await runWith(emulator, "a.safetensors");
    expect(emulator.modelMemory().loads).toBe(2);
  });
});

describe("scripted out-of-memory", () => {
  it("raises torch's CUDA OOM with ComfyUI's tips for a model matching --oom-model-pattern, and unloads every model", async ({ expect }) => {
    const emulator = await gpu({ oomModelPattern: "^checkpoints/huge" }, { "checkpoints/a.safetensors": 2 * GB, "checkpoints/huge.safetensors": 7 * GB });
    await runWith(emulator, "a.safetensors");
    expect(emulator.modelMemory().resident).toHaveLength(1);

    const history = await runWith(emulator, "huge.safetensors");
    const messages = (history.status as { status_str: string; messages: Array<[string, Record<string, unknown>]> }).messages;
    const error = messages.find(([type]) => type === "execution_error")?.[1];
    expect(error).toMatchObject({ node_id: "4", node_type: "CheckpointLoaderSimple", exception_type: "torch.OutOfMemoryError" });
    expect(error?.exception_message).toMatch(/^CUDA out of memory\. Tried to allocate 6\.52 GiB\. GPU 0 has a total capacity of 8\.00 GiB/);
    expect(error?.exception_message).toMatch(/This error means you ran out of memory on your GPU\./);
    // "Got an OOM, unloading all loaded models.": the next prompt loads its checkpoint again.
    expect(emulator.modelMemory().resident).toEqual([]);
    await runWith(emulator, "a.safetensors");
    expect(loads(emulator)).toEqual(["checkpoints/a.safetensors", "checkpoints/a.safetensors"]);
  });
});

describe("sampler interrupts", () => {
  it("stops KSampler between steps on /interrupt", async ({ expect }) => {
    const emulator = await gpu({ stepMs: 20 }, { "checkpoints/a.safetensors": 1 * GB });
    const ws = await WsRecorder.connect(emulator, "c1");
    // Far more steps than the test needs: it interrupts as soon as the first step is reported.
    const promptId = await queuePrompt(emulator, defaultGraph({ ckpt: "a.safetensors", steps: 5000 }), "c1");
    await ws.waitFor((m) => m.type === "progress" && m.data.prompt_id === promptId, 20_000);
    await post(emulator, "/interrupt", {});
    const interrupted = await ws.waitFor((m) => m.type === "execution_interrupted" && m.data.prompt_id === promptId, 20_000);
    expect(interrupted.data).toMatchObject({ node_id: "3", node_type: "KSampler" });
    expect([...(interrupted.data.executed as string[])].sort()).toEqual(["4", "5", "6", "7"]);
    const values = ws.messages.filter((m) => m.type === "progress" && m.data.prompt_id === promptId).map((m) => m.data.value as number);
    expect(Math.max(...values)).toBeLessThan(5000);
  });
});
