/**
 * EmptyLatentImage ("Empty Latent Image") and LatentUpscale ("Upscale Latent"), nodes.py.
 *
 * Faithful: specs, the latent being width/8 × height/8 (Python floor division, so 520 → 65 and a
 * decoded 520-wide latent is 520 px, 516 → 64 → 512 px), LatentUpscale's size rules (0 × 0 keeps
 * the latent, a 0 side follows the aspect ratio, every side at least 64) and its centre crop.
 * Faked: a latent holds its provenance, not numbers (nodes/model-types.ts).
 */
import { type Crop, resizeFrame } from "../media/resize.ts";
import { pyRound } from "../py/values.ts";
import { expectValue, Latent, type LatentContent } from "./model-types.ts";
import { ImageBatch, type NodeDefinition } from "./types.ts";

const MAX_RESOLUTION = 16384;

export const emptyLatentImage: NodeDefinition = {
  classType: "EmptyLatentImage",
  displayName: "Empty Latent Image",
  description: "Create a new batch of empty latent images to be denoised via sampling.",
  category: "latent",
  pythonModule: "nodes",
  functionName: "generate",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["LATENT"],
  outputTooltips: ["The empty latent image batch."],
  inputTypes: () => ({
    required: {
      width: ["INT", { default: 512, min: 16, max: MAX_RESOLUTION, step: 8, tooltip: "The width of the latent images in pixels." }],
      height: ["INT", { default: 512, min: 16, max: MAX_RESOLUTION, step: 8, tooltip: "The height of the latent images in pixels." }],
      batch_size: ["INT", { default: 1, min: 1, max: 4096, tooltip: "The number of latent images in the batch." }],
    },
  }),
  run(inputs) {
    const width = Math.floor((inputs.width as number) / 8);
    const height = Math.floor((inputs.height as number) / 8);
    return { result: [new Latent(width, height, (inputs.batch_size as number | undefined) ?? 1, 4, { kind: "empty" })] };
  },
};

export const latentUpscale: NodeDefinition = {
  classType: "LatentUpscale",
  displayName: "Upscale Latent",
  category: "latent",
  pythonModule: "nodes",
  functionName: "upscale",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["LATENT"],
  inputTypes: () => ({
    required: {
      samples: ["LATENT"],
      upscale_method: [["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]],
      width: ["INT", { default: 512, min: 0, max: MAX_RESOLUTION, step: 8 }],
      height: ["INT", { default: 512, min: 0, max: MAX_RESOLUTION, step: 8 }],
      crop: [["disabled", "center"]],
    },
  }),
  run(inputs) {
    const samples = expectValue(inputs.samples, Latent, "copy");
    let width = inputs.width as number;
    let height = inputs.height as number;
    if (width === 0 && height === 0) return { result: [samples] };
    if (width === 0) {
      height = Math.max(64, height);
      width = Math.max(64, pyRound((samples.width * height) / samples.height));
    } else if (height === 0) {
      width = Math.max(64, width);
      height = Math.max(64, pyRound((samples.height * width) / samples.width));
    } else {
      width = Math.max(64, width);
      height = Math.max(64, height);
    }
    const w8 = Math.floor(width / 8);
    const h8 = Math.floor(height / 8);
    const crop = inputs.crop === "center" ? "center" : "disabled";
    return { result: [samples.with({ width: w8, height: h8, content: resizeContent(samples.content, w8 * 8, h8 * 8, crop) })] };
  },
};

/** The same content at another size: an encoded image is resampled (and cropped); patterns scale by themselves. */
export function resizeContent(content: LatentContent, width: number, height: number, crop: Crop): LatentContent {
  switch (content.kind) {
    case "empty":
      return content;
    case "pixels": {
      const { image } = content;
      const frames = image.frames.map((frame) => resizeFrame(frame, image.width, image.height, width, height, crop));
      return { kind: "pixels", image: new ImageBatch(width, height, frames) };
    }
    case "sampled":
      return { ...content, under: resizeContent(content.under, width, height, crop) };
  }
}
