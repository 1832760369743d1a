/**
 * EmptyImage (nodes.py): a batch of flat-colour images; `color` is 0xRRGGBB.
 * Batches whose float32 tensor would not fit the emulator's budget raise torch's CUDA OOM
 * error, which also keeps the emulator itself from allocating gigabytes.
 */
import { cudaOutOfMemory } from "./oom.ts";
import { ImageBatch, type NodeDefinition } from "./types.ts";

const MAX_RESOLUTION = 16384;
/** Largest float32 tensor an emulated image may have (the emulator holds it as 8-bit RGB: a quarter of this). */
export const IMAGE_TENSOR_BUDGET = 2 * 1024 ** 3;

export const emptyImage: NodeDefinition = {
  classType: "EmptyImage",
  category: "image",
  pythonModule: "nodes",
  functionName: "generate",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["IMAGE"],
  inputTypes: () => ({
    required: {
      width: ["INT", { default: 512, min: 1, max: MAX_RESOLUTION, step: 1 }],
      height: ["INT", { default: 512, min: 1, max: MAX_RESOLUTION, step: 1 }],
      batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
      color: ["INT", { default: 0, min: 0, max: 0xffffff, step: 1, display: "color" }],
    },
  }),
  run(inputs, ctx) {
    const width = inputs.width as number;
    const height = inputs.height as number;
    const batch = (inputs.batch_size as number | undefined) ?? 1;
    const color = (inputs.color as number | undefined) ?? 0;
    const tensorBytes = batch * width * height * 3 * 4;
    if (tensorBytes > IMAGE_TENSOR_BUDGET) throw cudaOutOfMemory(ctx.config, tensorBytes);
    return { result: [solidImage(width, height, batch, [(color >> 16) & 0xff, (color >> 8) & 0xff, color & 0xff])] };
  },
};

export function solidImage(width: number, height: number, batch: number, rgb: readonly [number, number, number]): ImageBatch {
  const frame = new Uint8Array(width * height * 3);
  for (let i = 0; i < frame.length; i += 3) {
    frame[i] = rgb[0];
    frame[i + 1] = rgb[1];
    frame[i + 2] = rgb[2];
  }
  // Frames are never mutated in place, so the batch can share one buffer.
  return new ImageBatch(
    width,
    height,
    Array.from({ length: batch }, () => frame),
  );
}
