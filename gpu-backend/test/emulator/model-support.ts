/**
 * Model-graph test support: fake model files in an emulator's models folder, and ComfyUI's
 * default graph (the one clients submit) with its usual additions, node ids as in ComfyUI's
 * default workflow (4 checkpoint, 6/7 prompts, 5 latent, 3 sampler, 8 decode, 9 save).
 */
import { join } from "node:path";
import type { EmulatorHandle } from "../../emulator/index.ts";
import { type FakeModel, writeFakeModel } from "../../emulator/models/safetensors.ts";

export const GB = 1e9;

/** Writes `{"checkpoints/sd15.safetensors": {...}}` under the emulator's `<base>/models`. */
export function installModels(emulator: EmulatorHandle, files: Record<string, FakeModel>): void {
  for (const [path, model] of Object.entries(files)) writeFakeModel(join(emulator.dirs.base, "models", path), model);
}

export interface DefaultGraph {
  ckpt?: string;
  positive?: string;
  negative?: string;
  width?: number;
  height?: number;
  batch?: number;
  seed?: number;
  steps?: number;
  cfg?: number;
  sampler?: string;
  scheduler?: string;
  denoise?: number;
  prefix?: string;
}

type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/** CheckpointLoaderSimple → CLIPTextEncode ×2 → EmptyLatentImage → KSampler → VAEDecode → SaveImage. */
export function defaultGraph(g: DefaultGraph = {}): Workflow {
  return {
    "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: g.ckpt ?? "sd15.safetensors" } },
    "6": { class_type: "CLIPTextEncode", inputs: { text: g.positive ?? "a photo of a cat", clip: ["4", 1] } },
    "7": { class_type: "CLIPTextEncode", inputs: { text: g.negative ?? "blurry", clip: ["4", 1] } },
    "5": { class_type: "EmptyLatentImage", inputs: { width: g.width ?? 64, height: g.height ?? 64, batch_size: g.batch ?? 1 } },
    "3": {
      class_type: "KSampler",
      inputs: {
        model: ["4", 0],
        seed: g.seed ?? 42,
        steps: g.steps ?? 3,
        cfg: g.cfg ?? 8,
        sampler_name: g.sampler ?? "euler",
        scheduler: g.scheduler ?? "normal",
        positive: ["6", 0],
        negative: ["7", 0],
        latent_image: ["5", 0],
        denoise: g.denoise ?? 1,
      },
    },
    "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
    "9": { class_type: "SaveImage", inputs: { images: ["8", 0], filename_prefix: g.prefix ?? "ComfyUI" } },
  };
}

/** The default graph with a LoRA (node 10) between the checkpoint and its users. */
export function withLora(graph: Workflow, lora: string, strengthModel = 1, strengthClip = 1): Workflow {
  const out = structuredClone(graph);
  out["10"] = {
    class_type: "LoraLoader",
    inputs: { model: ["4", 0], clip: ["4", 1], lora_name: lora, strength_model: strengthModel, strength_clip: strengthClip },
  };
  (out["3"] as Workflow[string]).inputs.model = ["10", 0];
  (out["6"] as Workflow[string]).inputs.clip = ["10", 1];
  (out["7"] as Workflow[string]).inputs.clip = ["10", 1];
  return out;
}

/** The file SaveImage node `id` reported in history. */
export function savedImage(history: Record<string, unknown>, id = "9"): { filename: string; subfolder: string; type: string } {
  const outputs = history.outputs as Record<string, { images: Array<{ filename: string; subfolder: string; type: string }> }>;
  const image = outputs[id]?.images[0];
  if (!image) throw new Error(`no image from node ${id} in ${JSON.stringify(history.outputs)}`);
  return image;
}

export async function viewBytes(emulator: EmulatorHandle, image: { filename: string; subfolder: string; type: string }): Promise<Buffer> {
  const res = await fetch(`${emulator.url}/view?${new URLSearchParams(image)}`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`/view → ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}
