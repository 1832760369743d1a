/**
 * CheckpointLoaderSimple (nodes.py, "Load Checkpoint"): the default graph's first node.
 *
 * Faithful: the combo lists `checkpoints` (every directory of the folder, sub-paths, sorted), a
 * name that is not listed fails validation with `value_not_in_list`, a file gone by run time
 * raises get_full_path_or_raise's FileNotFoundError, a corrupt safetensors header raises what
 * load_torch_file raises. Faked: instead of weights, the outputs carry the file's identity;
 * loading costs the file's declared size in time and VRAM (models/memory.ts).
 */
import { openModelFile } from "../models/files.ts";
import { pyStr } from "../py/values.ts";
import { ClipHandle, ModelHandle, VaeHandle } from "./model-types.ts";
import type { NodeDefinition } from "./types.ts";

export const checkpointLoaderSimple: NodeDefinition = {
  classType: "CheckpointLoaderSimple",
  displayName: "Load Checkpoint",
  description: "Loads a diffusion model checkpoint, diffusion models are used to denoise latents.",
  category: "loaders",
  pythonModule: "nodes",
  functionName: "load_checkpoint",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["MODEL", "CLIP", "VAE"],
  outputTooltips: [
    "The model used for denoising latents.",
    "The CLIP model used for encoding text prompts.",
    "The VAE model used for encoding and decoding images to and from latent space.",
  ],
  inputTypes: (ctx) => ({
    required: { ckpt_name: [ctx.folders.list("checkpoints"), { tooltip: "The name of the checkpoint (model) to load." }] },
  }),
  async run(inputs, ctx) {
    const file = openModelFile(ctx.models.folders, "checkpoints", pyStr(inputs.ckpt_name));
    const model = new ModelHandle(file);
    await ctx.models.memory.ensure(model.units());
    return { result: [model, new ClipHandle(file), new VaeHandle(file.name, [file])] };
  },
};
