/**
 * LoraLoader ("Load LoRA") and LoraLoaderModelOnly (nodes.py).
 *
 * Faithful: specs; LoraLoaderModelOnly inherits LoraLoader's DESCRIPTION and both of its
 * OUTPUT_TOOLTIPS although it has one output (ComfyUI's object_info says so); both strengths 0
 * return the inputs untouched without even looking for the file; a file gone by run time raises
 * FileNotFoundError. Faked: the LoRA is recorded on the MODEL/CLIP (name and strength, in order),
 * which changes the sampler's pixels; its file is loaded like any model (time and VRAM).
 */
import { openModelFile } from "../models/files.ts";
import { pyStr } from "../py/values.ts";
import { ClipHandle, expectValue, ModelHandle } from "./model-types.ts";
import type { NodeDefinition, NodeRunContext } from "./types.ts";

const DESCRIPTION =
  "LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.";
const OUTPUT_TOOLTIPS = ["The modified diffusion model.", "The modified CLIP model."];

/** `LoraLoader.load_lora` */
async function loadLora(ctx: NodeRunContext, model: unknown, clip: unknown, loraName: unknown, strengthModel: number, strengthClip: number) {
  if (strengthModel === 0 && strengthClip === 0) return [model, clip];
  const file = openModelFile(ctx.models.folders, "loras", pyStr(loraName));
  const handle = expectValue(model, ModelHandle, "clone");
  // comfy.sd.load_lora_for_models patches the CLIP only when there is one.
  const patchedClip = clip === null || clip === undefined ? null : expectValue(clip, ClipHandle, "clone").withLora({ file, strength: strengthClip });
  const patchedModel = handle.withLora({ file, strength: strengthModel });
  await ctx.models.memory.ensure(patchedModel.units());
  return [patchedModel, patchedClip];
}

export const loraLoader: NodeDefinition = {
  classType: "LoraLoader",
  displayName: "Load LoRA",
  description: DESCRIPTION,
  category: "loaders",
  pythonModule: "nodes",
  functionName: "load_lora",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["MODEL", "CLIP"],
  outputTooltips: OUTPUT_TOOLTIPS,
  inputTypes: (ctx) => ({
    required: {
      model: ["MODEL", { tooltip: "The diffusion model the LoRA will be applied to." }],
      clip: ["CLIP", { tooltip: "The CLIP model the LoRA will be applied to." }],
      lora_name: [ctx.folders.list("loras"), { tooltip: "The name of the LoRA." }],
      strength_model: [
        "FLOAT",
        { default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: "How strongly to modify the diffusion model. This value can be negative." },
      ],
      strength_clip: [
        "FLOAT",
        { default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: "How strongly to modify the CLIP model. This value can be negative." },
      ],
    },
  }),
  async run(inputs, ctx) {
    const result = await loadLora(ctx, inputs.model, inputs.clip, inputs.lora_name, inputs.strength_model as number, inputs.strength_clip as number);
    return { result };
  },
};

export const loraLoaderModelOnly: NodeDefinition = {
  classType: "LoraLoaderModelOnly",
  description: DESCRIPTION,
  category: "loaders",
  pythonModule: "nodes",
  functionName: "load_lora_model_only",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["MODEL"],
  outputTooltips: OUTPUT_TOOLTIPS,
  inputTypes: (ctx) => ({
    required: {
      model: ["MODEL"],
      lora_name: [ctx.folders.list("loras")],
      strength_model: ["FLOAT", { default: 1.0, min: -100.0, max: 100.0, step: 0.01 }],
    },
  }),
  async run(inputs, ctx) {
    const [model] = await loadLora(ctx, inputs.model, null, inputs.lora_name, inputs.strength_model as number, 0);
    return { result: [model] };
  },
};
