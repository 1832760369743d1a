// What the pre-flight benchmarks validate: the recorded object_info of ComfyUI 0.3.64 (383 classes)
// with a checkpoint listed, optionally padded with synthetic classes, and two valid graphs — the
// 2-node graph every bench submits and a 60-node txt2img fan-out on that checkpoint.
import { readFileSync } from "node:fs";
import { WORKFLOW } from "./api.ts";

export const CKPT = "model.safetensors";

export type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
export type ObjectInfo = Record<string, Record<string, unknown>>;

const RECORDED = new URL("../../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json", import.meta.url);

/**
 * A fresh copy of the recorded object_info, with CheckpointLoaderSimple listing CKPT among 40
 * other files (as ComfyUI lists a models folder), so both graphs pass.
 */
export function recordedObjectInfo(): ObjectInfo {
  const info = (JSON.parse(readFileSync(RECORDED, "utf8")) as { json: ObjectInfo }).json;
  const ckpt = info.CheckpointLoaderSimple as { input: { required: { ckpt_name: unknown[] } } };
  ckpt.input.required.ckpt_name[0] = Array.from({ length: 40 }, (_, i) => `other-${i}.safetensors`).concat(CKPT);
  return info;
}

/** Adds synthetic classes (copies of KSampler's spec under new names) until there are `total`. */
export function padClasses(info: ObjectInfo, total: number): ObjectInfo {
  const template = info.KSampler!;
  for (let i = 0; Object.keys(info).length < total; i++) {
    const name = `BenchPadding${String(i).padStart(3, "0")}`;
    info[name] = { ...structuredClone(template), name, display_name: name, python_module: "custom_nodes.bench_padding" };
  }
  return info;
}

export const SMALL: Workflow = WORKFLOW;

/** A checkpoint shared by 9 txt2img branches (prompts, latent, sampler, decode, save), and 5 inverts before the last save. */
export function largeGraph(): Workflow {
  const g: Workflow = { "1": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: CKPT } } };
  let n = 2;
  let lastDecode = "";
  let lastSave = "";
  for (let b = 0; b < 9; b++) {
    const [pos, neg, lat, ks, dec, save] = [n, n + 1, n + 2, n + 3, n + 4, n + 5].map(String) as [string, string, string, string, string, string];
    n += 6;
    g[pos] = { class_type: "CLIPTextEncode", inputs: { text: `branch ${b}`, clip: ["1", 1] } };
    g[neg] = { class_type: "CLIPTextEncode", inputs: { text: "blurry", clip: ["1", 1] } };
    g[lat] = { class_type: "EmptyLatentImage", inputs: { width: 512, height: 512, batch_size: 1 } };
    g[ks] = {
      class_type: "KSampler",
      inputs: {
        model: ["1", 0],
        seed: b,
        steps: 20,
        cfg: 7.5,
        sampler_name: "dpmpp_2m",
        scheduler: "karras",
        positive: [pos, 0],
        negative: [neg, 0],
        latent_image: [lat, 0],
        denoise: 1,
      },
    };
    g[dec] = { class_type: "VAEDecode", inputs: { samples: [ks, 0], vae: ["1", 2] } };
    g[save] = { class_type: "SaveImage", inputs: { images: [dec, 0], filename_prefix: `b${b}` } };
    lastDecode = dec;
    lastSave = save;
  }
  let image = lastDecode;
  for (let i = 0; i < 5; i++) {
    const id = String(n++);
    g[id] = { class_type: "ImageInvert", inputs: { image: [image, 0] } };
    image = id;
  }
  g[lastSave]!.inputs.images = [image, 0];
  return g;
}
