/**
 * Upscaling: UpscaleModelLoader and ImageUpscaleWithModel (comfy_extras/nodes_upscale_model.py,
 * comfy_api v3 nodes) and ImageScale ("Upscale Image", nodes.py).
 *
 * Faithful: specs, including the v3 `COMBO` spec of UpscaleModelLoader, whose name ComfyUI
 * 0.3.64 does not check against the list at validation (execution.py compares only list-typed
 * combos): a missing file fails at run time with FileNotFoundError; ImageUpscaleWithModel's
 * progress (one step per 512-px tile with 32 px overlap, per image); ImageScale's size rules (a 0
 * side follows the aspect ratio, 0 × 0 keeps the image) and centre crop.
 * Faked: the factor of an upscale model is its `emulator.scale` metadata, else the `4x`/`x4` in
 * its name, else 4; pixels are resampled nearest-neighbour (media/resize.ts); a tile takes
 * `--step-ms`.
 */
import { resizeFrame } from "../media/resize.ts";
import { openModelFile } from "../models/files.ts";
import { pyRound, pyStr } from "../py/values.ts";
import { IMAGE_TENSOR_BUDGET } from "./empty-image.ts";
import { expectValue, UpscaleModel } from "./model-types.ts";
import { cudaOutOfMemory } from "./oom.ts";
import { expectImage, ImageBatch, type NodeDefinition } from "./types.ts";

const MAX_RESOLUTION = 16384;
const UPSCALE_MODULE = "comfy_extras.nodes_upscale_model";
const UPSCALE_SOURCE = "comfy_extras/nodes_upscale_model.py";

function scaleOf(name: string, metadata: Record<string, string>): number {
  const declared = Number(metadata["emulator.scale"]);
  if (Number.isFinite(declared) && declared > 0) return declared;
  const match = /(?:^|[^0-9])(\d+)x|x(\d+)(?:[^0-9]|$)/i.exec(name.split("/").pop() ?? name);
  const fromName = Number(match?.[1] ?? match?.[2]);
  return Number.isFinite(fromName) && fromName > 0 ? fromName : 4;
}

export const upscaleModelLoader: NodeDefinition = {
  classType: "UpscaleModelLoader",
  schema: "v3",
  displayName: "Load Upscale Model",
  category: "loaders",
  pythonModule: UPSCALE_MODULE,
  functionName: "execute",
  sourceFile: UPSCALE_SOURCE,
  outputNode: false,
  returnTypes: ["UPSCALE_MODEL"],
  inputTypes: (ctx) => ({ required: { model_name: ["COMBO", { multiselect: false, options: ctx.folders.list("upscale_models") }] } }),
  async run(inputs, ctx) {
    const file = openModelFile(ctx.models.folders, "upscale_models", pyStr(inputs.model_name));
    const model = new UpscaleModel(file, scaleOf(file.name, file.metadata));
    await ctx.models.memory.ensure(model.units());
    return { result: [model] };
  },
};

/** `comfy.utils.get_tiled_scale_steps` */
function tiledScaleSteps(width: number, height: number, tile: number, overlap: number): number {
  const rows = height <= tile ? 1 : Math.ceil((height - overlap) / (tile - overlap));
  const cols = width <= tile ? 1 : Math.ceil((width - overlap) / (tile - overlap));
  return rows * cols;
}

export const imageUpscaleWithModel: NodeDefinition = {
  classType: "ImageUpscaleWithModel",
  schema: "v3",
  displayName: "Upscale Image (using Model)",
  category: "image/upscaling",
  pythonModule: UPSCALE_MODULE,
  functionName: "execute",
  sourceFile: UPSCALE_SOURCE,
  outputNode: false,
  returnTypes: ["IMAGE"],
  inputTypes: () => ({ required: { upscale_model: ["UPSCALE_MODEL", {}], image: ["IMAGE", {}] } }),
  async run(inputs, ctx) {
    const model = expectValue(inputs.upscale_model, UpscaleModel, "model");
    const image = expectImage(inputs.image);
    const width = pyRound(image.width * model.scale);
    const height = pyRound(image.height * model.scale);
    const tensorBytes = image.frames.length * width * height * 3 * 4;
    if (tensorBytes > IMAGE_TENSOR_BUDGET) throw cudaOutOfMemory(ctx.config, tensorBytes);
    await ctx.models.memory.ensure(model.units());
    const steps = image.frames.length * tiledScaleSteps(image.width, image.height, 512, 32);
    for (let step = 1; step <= steps; step++) {
      await ctx.sleep(ctx.config.stepMs);
      ctx.progress(step, steps);
    }
    const frames = image.frames.map((frame) => resizeFrame(frame, image.width, image.height, width, height));
    return { result: [new ImageBatch(width, height, frames)] };
  },
};

export const imageScale: NodeDefinition = {
  classType: "ImageScale",
  displayName: "Upscale Image",
  category: "image/upscaling",
  pythonModule: "nodes",
  functionName: "upscale",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["IMAGE"],
  inputTypes: () => ({
    required: {
      image: ["IMAGE"],
      upscale_method: [["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]],
      width: ["INT", { default: 512, min: 0, max: MAX_RESOLUTION, step: 1 }],
      height: ["INT", { default: 512, min: 0, max: MAX_RESOLUTION, step: 1 }],
      crop: [["disabled", "center"]],
    },
  }),
  run(inputs, ctx) {
    const image = expectImage(inputs.image);
    let width = inputs.width as number;
    let height = inputs.height as number;
    if (width === 0 && height === 0) return { result: [image] };
    if (width === 0) width = Math.max(1, pyRound((image.width * height) / image.height));
    else if (height === 0) height = Math.max(1, pyRound((image.height * width) / image.width));
    const tensorBytes = image.frames.length * width * height * 3 * 4;
    if (tensorBytes > IMAGE_TENSOR_BUDGET) throw cudaOutOfMemory(ctx.config, tensorBytes);
    const crop = inputs.crop === "center" ? "center" : "disabled";
    const frames = image.frames.map((frame) => resizeFrame(frame, image.width, image.height, width, height, crop));
    return { result: [new ImageBatch(width, height, frames)] };
  },
};
