// POST /prompt on the model graph: the node_errors ComfyUI 0.3.64 gives (execution.py
// validate_inputs) for a wrong link type, a model file that is not there, out-of-range numbers
// and unknown combo values; and the failures that only show at run time (a file gone since
// validation, a corrupt safetensors header, UpscaleModelLoader's unchecked v3 combo).
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "vitest";
import type { EmulatorHandle } from "../../emulator/index.ts";
import { SAMPLER_NAMES } from "../../emulator/nodes/sampling.ts";
import { post, queuePrompt, startTestEmulator, WsRecorder, waitForHistory } from "./harness.ts";
import { defaultGraph, installModels } from "./model-support.ts";

async function modelEmulator(): Promise<EmulatorHandle> {
  const emulator = await startTestEmulator();
  installModels(emulator, {
    "checkpoints/sd15.safetensors": { sizeBytes: 1_000_000 },
    "checkpoints/other.safetensors": { sizeBytes: 1_000_000 },
    "upscale_models/4x.pth": { sizeBytes: 1_000 },
  });
  return emulator;
}

const failed = (nodeErrors: Record<string, unknown>, details = "") => ({
  error: { type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation", details, extra_info: {} },
  node_errors: nodeErrors,
});

const SCHEDULERS = "['simple', 'sgm_uniform', 'karras', 'exponential', 'ddim_uniform', 'beta', 'normal', 'linear_quadratic', 'kl_optimal']";

describe("model graph validation", () => {
  it("refuses a link of the wrong type with return_type_mismatch, on a v1 and a v3 node", async ({ expect }) => {
    const emulator = await modelEmulator();
    const prompt = defaultGraph();
    prompt["6"]!.inputs.clip = ["4", 0];
    const res = await post(emulator, "/prompt", { prompt });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(
      failed({
        "6": {
          errors: [
            {
              type: "return_type_mismatch",
              message: "Return type mismatch between linked nodes",
              details: "clip, received_type(MODEL) mismatch input_type(CLIP)",
              extra_info: {
                input_name: "clip",
                input_config: ["CLIP", { tooltip: "The CLIP model used for encoding the text." }],
                received_type: "MODEL",
                linked_node: ["4", 0],
              },
            },
          ],
          dependent_outputs: ["9"],
          class_type: "CLIPTextEncode",
        },
      }),
    );

    const upscale = defaultGraph();
    upscale["17"] = { class_type: "ImageUpscaleWithModel", inputs: { upscale_model: ["4", 0], image: ["8", 0] } };
    upscale["9"]!.inputs.images = ["17", 0];
    const v3 = await post(emulator, "/prompt", { prompt: upscale });
    expect((v3.json as { node_errors: Record<string, { errors: unknown[] }> }).node_errors["17"]?.errors).toEqual([
      {
        type: "return_type_mismatch",
        message: "Return type mismatch between linked nodes",
        details: "upscale_model, received_type(MODEL) mismatch input_type(UPSCALE_MODEL)",
        extra_info: { input_name: "upscale_model", input_config: ["UPSCALE_MODEL", {}], received_type: "MODEL", linked_node: ["4", 0] },
      },
    ]);
  });

  it("refuses a checkpoint that is not in the folder with value_not_in_list, echoing the sorted list", async ({ expect }) => {
    const emulator = await modelEmulator();
    const res = await post(emulator, "/prompt", { prompt: defaultGraph({ ckpt: "missing.safetensors" }) });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(
      failed({
        "4": {
          errors: [
            {
              type: "value_not_in_list",
              message: "Value not in list",
              details: "ckpt_name: 'missing.safetensors' not in ['other.safetensors', 'sd15.safetensors']",
              extra_info: {
                input_name: "ckpt_name",
                input_config: [["other.safetensors", "sd15.safetensors"], { tooltip: "The name of the checkpoint (model) to load." }],
                received_value: "missing.safetensors",
              },
            },
          ],
          dependent_outputs: ["9"],
          class_type: "CheckpointLoaderSimple",
        },
      }),
    );
  });

  it("refuses out-of-range cfg, steps and denoise with ComfyUI's messages (floats printed as floats)", async ({ expect }) => {
    const emulator = await modelEmulator();
    const res = await post(emulator, "/prompt", { prompt: defaultGraph({ cfg: 101, steps: 0, denoise: 1.5 }) });
    expect(res.status).toBe(400);
    const errors = (res.json as { node_errors: Record<string, { errors: Array<{ message: string; details: string; type: string }> }> }).node_errors["3"]
      ?.errors;
    // ComfyUI walks the inputs in a Python set's order, which changes with PYTHONHASHSEED: compare without order.
    expect(errors?.map((e) => [e.type, e.message, e.details]).sort()).toEqual(
      [
        ["value_bigger_than_max", "Value 101.0 bigger than max of 100.0", "cfg"],
        ["value_smaller_than_min", "Value 0 smaller than min of 1", "steps"],
        ["value_bigger_than_max", "Value 1.5 bigger than max of 1.0", "denoise"],
      ].sort(),
    );
    expect(errors?.find((e) => e.details === "cfg")).toMatchObject({
      extra_info: {
        input_name: "cfg",
        input_config: ["FLOAT", { default: 8, min: 0, max: 100, step: 0.1, round: 0.01, tooltip: expect.stringContaining("Classifier-Free Guidance") }],
        received_value: 101,
      },
    });
  });

  it("refuses an unknown sampler_name without echoing the 42 names, and an unknown scheduler with the list", async ({ expect }) => {
    const emulator = await modelEmulator();
    expect(SAMPLER_NAMES).toHaveLength(42);
    const res = await post(emulator, "/prompt", { prompt: defaultGraph({ sampler: "euler_fast", scheduler: "bogus" }) });
    const errors = (res.json as { node_errors: Record<string, { errors: Array<{ details: string }> }> }).node_errors["3"]?.errors ?? [];
    expect([...errors].sort((a, b) => a.details.localeCompare(b.details))).toEqual([
      {
        type: "value_not_in_list",
        message: "Value not in list",
        details: "sampler_name: 'euler_fast' not in (list of length 42)",
        extra_info: { input_name: "sampler_name", input_config: null, received_value: "euler_fast" },
      },
      {
        type: "value_not_in_list",
        message: "Value not in list",
        details: `scheduler: 'bogus' not in ${SCHEDULERS}`,
        extra_info: { input_name: "scheduler", input_config: [expect.any(Array), expect.any(Object)], received_value: "bogus" },
      },
    ]);
  });

  it("lets an UpscaleModelLoader name that is not in the folder through (a v3 COMBO is not checked) and fails it at run time", async ({ expect }) => {
    const emulator = await modelEmulator();
    const prompt = defaultGraph();
    prompt["16"] = { class_type: "UpscaleModelLoader", inputs: { model_name: "nope.pth" } };
    prompt["17"] = { class_type: "ImageUpscaleWithModel", inputs: { upscale_model: ["16", 0], image: ["8", 0] } };
    prompt["9"]!.inputs.images = ["17", 0];
    const ws = await WsRecorder.connect(emulator, "c1");
    const promptId = await queuePrompt(emulator, prompt, "c1");
    const error = await ws.waitFor((m) => m.type === "execution_error" && m.data.prompt_id === promptId, 20_000);
    expect(error.data).toMatchObject({
      node_id: "16",
      node_type: "UpscaleModelLoader",
      exception_type: "FileNotFoundError",
      exception_message: "Model in folder 'upscale_models' with filename 'nope.pth' not found.\n",
      current_inputs: { model_name: ["nope.pth"] },
    });
  });

  it("fails at run time with FileNotFoundError when the checkpoint is removed after validation", async ({ expect }) => {
    const emulator = await modelEmulator();
    const ws = await WsRecorder.connect(emulator, "c1");
    // Holds the queue so the file can go between validation and execution.
    const gate = await queuePrompt(emulator, { "1": { class_type: "GateEmu", inputs: { name: "hold" } } }, "c1");
    await ws.waitFor((m) => m.type === "executing" && m.data.prompt_id === gate);
    const promptId = await queuePrompt(emulator, defaultGraph(), "c1");
    rmSync(join(emulator.dirs.base, "models", "checkpoints", "sd15.safetensors"));
    emulator.openGate("hold");
    const error = await ws.waitFor((m) => m.type === "execution_error" && m.data.prompt_id === promptId, 20_000);
    expect(error.data).toMatchObject({
      node_id: "4",
      node_type: "CheckpointLoaderSimple",
      exception_type: "FileNotFoundError",
      exception_message: "Model in folder 'checkpoints' with filename 'sd15.safetensors' not found.\n",
      current_inputs: { ckpt_name: ["sd15.safetensors"] },
    });
  });

  it("fails a file that is not safetensors at all with load_torch_file's ValueError", async ({ expect }) => {
    const emulator = await modelEmulator();
    const path = join(emulator.dirs.base, "models", "checkpoints", "download.safetensors");
    writeFileSync(path, "<!DOCTYPE html><html><body>Sign in to download</body></html>");
    const promptId = await queuePrompt(emulator, defaultGraph({ ckpt: "download.safetensors" }), undefined);
    const history = await waitForHistory(emulator, promptId, 20_000);
    const messages = (history.status as { messages: Array<[string, Record<string, unknown>]> }).messages;
    const error = messages.find(([type]) => type === "execution_error")?.[1];
    expect(error).toMatchObject({
      node_id: "4",
      exception_type: "ValueError",
      exception_message: `Error while deserializing header: HeaderTooLarge\n\nFile path: ${path}\n\nThe safetensors file is corrupt or invalid. Make sure this is actually a safetensors file and not a ckpt or pt or other filetype.\n`,
    });
  });

  it("shows model objects in current_inputs as ComfyUI's reprs, with the same addresses on every run", async ({ expect }) => {
    const failure = async () => {
      const emulator = await modelEmulator();
      installModels(emulator, { "loras/style.safetensors": { sizeBytes: 1_000 } });
      const ws = await WsRecorder.connect(emulator, "c1");
      const gate = await queuePrompt(emulator, { "1": { class_type: "GateEmu", inputs: { name: "hold" } } }, "c1");
      await ws.waitFor((m) => m.type === "executing" && m.data.prompt_id === gate);
      // A latent too large to decode: VAEDecode raises CUDA OOM with the LATENT and VAE in current_inputs.
      const huge = defaultGraph({ width: 16384, height: 16384, batch: 3, steps: 1 });
      const oom = await queuePrompt(emulator, huge, "c1");
      // A LoRA removed after validation: LoraLoader fails with the MODEL and CLIP in current_inputs.
      const lora = defaultGraph({ seed: 1 });
      lora["10"] = {
        class_type: "LoraLoader",
        inputs: { model: ["4", 0], clip: ["4", 1], lora_name: "style.safetensors", strength_model: 1, strength_clip: 1 },
      };
      lora["3"]!.inputs.model = ["10", 0];
      const missing = await queuePrompt(emulator, lora, "c1");
      rmSync(join(emulator.dirs.base, "models", "loras", "style.safetensors"));
      emulator.openGate("hold");
      const errorOf = async (id: string) => (await ws.waitFor((m) => m.type === "execution_error" && m.data.prompt_id === id, 20_000)).data;
      return [await errorOf(oom), await errorOf(missing)];
    };
    const [oom, missing] = await failure();
    expect(oom).toMatchObject({ node_id: "8", exception_type: "torch.OutOfMemoryError" });
    expect(oom?.current_inputs).toEqual({
      samples: ["{'samples': tensor([[[[...]]]]) shape=torch.Size([3, 4, 2048, 2048])}"],
      vae: [expect.stringMatching(/^<comfy\.sd\.VAE object at 0x7f[0-9a-f]{10}>$/)],
    });
    expect(missing).toMatchObject({ node_id: "10", exception_type: "FileNotFoundError" });
    expect(missing?.current_inputs).toEqual({
      model: [expect.stringMatching(/^<comfy\.model_patcher\.ModelPatcher object at 0x7f[0-9a-f]{10}>$/)],
      clip: [expect.stringMatching(/^<comfy\.sd\.CLIP object at 0x7f[0-9a-f]{10}>$/)],
      lora_name: ["style.safetensors"],
      strength_model: [1],
      strength_clip: [1],
    });
    const [oomAgain, missingAgain] = await failure();
    expect([oomAgain?.current_inputs, missingAgain?.current_inputs]).toEqual([oom?.current_inputs, missing?.current_inputs]);
  });
});
