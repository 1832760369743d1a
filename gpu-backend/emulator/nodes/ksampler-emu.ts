/**
 * KSamplerEmu (emulator only): stands in for KSampler, the node that makes ComfyUI prompts slow.
 *
 * It runs `steps` steps of `stepMs` each (the server knob, or the optional `step_ms` input) and,
 * like a real sampler, reports each finished step through the progress hook — which is also
 * where an interrupt is noticed, so an interrupt lands between steps. The result is the input
 * image tinted towards a colour derived from `seed` by `denoise`; with `--preview-method auto`
 * each step also carries a JPEG preview of the current colour.
 */
import { expectImage, ImageBatch, type NodeDefinition } from "./types.ts";

export const EMULATOR_MODULE = "custom_nodes.comfyui-emulator";
export const EMULATOR_CATEGORY = "_emulator";
export const EMULATOR_SOURCE = "custom_nodes/comfyui-emulator/nodes.py";

/** A subset of KSampler's sampler and scheduler names. */
const SAMPLERS = ["euler", "euler_ancestral", "heun", "dpm_2", "dpmpp_2m", "dpmpp_sde", "ddim", "uni_pc"];
const SCHEDULERS = ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta"];

export const ksamplerEmu: NodeDefinition = {
  classType: "KSamplerEmu",
  displayName: "KSampler (Emulator)",
  description: "Emulator-only stand-in for KSampler: emits one progress event per step.",
  category: EMULATOR_CATEGORY,
  pythonModule: EMULATOR_MODULE,
  functionName: "sample",
  sourceFile: EMULATOR_SOURCE,
  outputNode: false,
  returnTypes: ["IMAGE"],
  inputTypes: () => ({
    required: {
      image: ["IMAGE"],
      seed: ["INT", { default: 0, min: 0, max: Number.MAX_SAFE_INTEGER, control_after_generate: true }],
      steps: ["INT", { default: 20, min: 1, max: 10000 }],
      denoise: ["FLOAT", { default: 1.0, min: 0.0, max: 1.0, step: 0.01 }],
    },
    // Optional here (KSampler requires them) so emulator workflows stay short; their combos
    // exercise `value_not_in_list`.
    optional: {
      sampler_name: [SAMPLERS, { default: "euler" }],
      scheduler: [SCHEDULERS, { default: "normal" }],
      step_ms: ["INT", { default: -1, min: -1, max: 600_000, tooltip: "Time per step in ms; -1 uses the emulator's --step-ms." }],
    },
  }),
  async run(inputs, ctx) {
    const image = expectImage(inputs.image);
    const steps = inputs.steps as number;
    const denoise = (inputs.denoise as number | undefined) ?? 1;
    const stepInput = (inputs.step_ms as number | undefined) ?? -1;
    const stepMs = stepInput >= 0 ? stepInput : ctx.config.stepMs;
    const target = seedColor(inputs.seed as number);
    const start = averageColor(image);
    const preview = fitWithin(image.width, image.height, ctx.config.previewSize);
    for (let step = 1; step <= steps; step++) {
      await ctx.sleep(stepMs);
      const t = (denoise * step) / steps;
      const rgb = start.map((c, i) => Math.round(c + ((target[i] ?? 0) - c) * t)) as [number, number, number];
      ctx.progress(step, steps, { ...preview, rgb });
    }
    const frames = image.frames.map((frame) => frame.map((v, i) => Math.round(v + ((target[i % 3] ?? 0) - v) * denoise)));
    return { result: [new ImageBatch(image.width, image.height, frames)] };
  },
};

function seedColor(seed: number): [number, number, number] {
  // A small integer hash so neighbouring seeds give visibly different colours.
  let h = (Math.floor(seed) % 0x7fffffff) ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
}

function averageColor(image: ImageBatch): [number, number, number] {
  const frame = image.frames[0];
  if (!frame || frame.length === 0) return [0, 0, 0];
  return [frame[0] ?? 0, frame[1] ?? 0, frame[2] ?? 0];
}

function fitWithin(width: number, height: number, max: number): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
