// The model files the local stack's ComfyUI emulator has out of the box: safetensors-shaped fakes
// of a few hundred bytes that declare the sizes of the real files they are named after, so
// `npm run dev`, the README flow and examples/ run ComfyUI's default graphs (the emulator charges
// load time and VRAM for the declared size). Never real weights: nothing is downloaded.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type FakeModel, writeFakeModel } from "../../gpu-backend/emulator/models/safetensors.ts";

export interface DevModel extends FakeModel {
  /** ComfyUI's model folder (`checkpoints`, `loras`, …). */
  folder: string;
  name: string;
}

export const DEV_MODELS: readonly DevModel[] = [
  { folder: "checkpoints", name: "v1-5-pruned-emaonly-fp16.safetensors", architecture: "stable-diffusion-v1", sizeBytes: 2_132_625_894 },
  { folder: "loras", name: "add_detail.safetensors", architecture: "stable-diffusion-v1/lora", sizeBytes: 37_861_176 },
  { folder: "vae", name: "vae-ft-mse-840000-ema-pruned.safetensors", architecture: "stable-diffusion-v1/vae", sizeBytes: 334_641_164 },
  { folder: "upscale_models", name: "RealESRGAN_x4plus.safetensors", architecture: "esrgan", sizeBytes: 67_040_989, metadata: { "emulator.scale": "4" } },
  { folder: "controlnet", name: "control_v11p_sd15_canny_fp16.safetensors", architecture: "stable-diffusion-v1/controlnet", sizeBytes: 722_596_327 },
];

/** Writes the dev models under `modelsDir` (ComfyUI's `models/`), keeping files already there. */
export function writeDevModels(modelsDir: string): string[] {
  const written: string[] = [];
  for (const m of DEV_MODELS) {
    const path = join(modelsDir, m.folder, m.name);
    if (existsSync(path)) continue;
    writeFakeModel(path, m);
    written.push(`${m.folder}/${m.name}`);
  }
  return written;
}
