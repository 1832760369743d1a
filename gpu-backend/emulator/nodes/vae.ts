/**
 * VAELoader ("Load VAE"), VAEDecode ("VAE Decode") and VAEEncode ("VAE Encode"), nodes.py.
 *
 * Faithful: VAELoader's list (the `vae` files, then `taesd`/`taesdxl`/`taesd3`/`taef1` when both
 * halves are in `vae_approx`, then `pixel_space`), the spatial compression (8, or 1 for
 * pixel_space), VAEEncode's centre crop to multiples of it, the decoded size. Faked: decoding
 * renders the latent's provenance (media/pattern.ts); an image whose float tensor would exceed
 * the emulator's budget raises torch's CUDA OOM, as EmptyImage does.
 */
import { renderContent } from "../media/pattern.ts";
import { cropFrame } from "../media/resize.ts";
import { architectureOf } from "../models/architectures.ts";
import { type ModelFile, openModelFile } from "../models/files.ts";
import type { ModelFolders } from "../models/folders.ts";
import { PyException, pyStr } from "../py/values.ts";
import { IMAGE_TENSOR_BUDGET } from "./empty-image.ts";
import { expectValue, Latent, VaeHandle } from "./model-types.ts";
import { cudaOutOfMemory } from "./oom.ts";
import { expectImage, ImageBatch, type NodeDefinition } from "./types.ts";

/** TAESD names and the prefixes of their two files in `vae_approx`. */
const TAESD = ["taesd", "taesdxl", "taesd3", "taef1"] as const;

/** `VAELoader.vae_list()` */
function vaeList(folders: ModelFolders): string[] {
  const vaes = folders.list("vae");
  const approx = folders.list("vae_approx");
  for (const name of TAESD) {
    const has = (half: string) => approx.some((file) => file.startsWith(`${name}_${half}.`));
    if (has("encoder") && has("decoder")) vaes.push(name);
  }
  vaes.push("pixel_space");
  return vaes;
}

/** Pixels per latent cell. */
function compression(vae: VaeHandle): number {
  return vae.name === "pixel_space" ? 1 : 8;
}

function latentChannels(vae: VaeHandle): number {
  const file: ModelFile | undefined = vae.files[0];
  return file && file.folder === "checkpoints" ? architectureOf(file.architecture).latentChannels : 4;
}

export const vaeLoader: NodeDefinition = {
  classType: "VAELoader",
  displayName: "Load VAE",
  category: "loaders",
  pythonModule: "nodes",
  functionName: "load_vae",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["VAE"],
  inputTypes: (ctx) => ({ required: { vae_name: [vaeList(ctx.folders)] } }),
  async run(inputs, ctx) {
    const name = pyStr(inputs.vae_name);
    const { folders } = ctx.models;
    let files: ModelFile[];
    if (name === "pixel_space") files = [];
    else if ((TAESD as readonly string[]).includes(name)) {
      const approx = folders.list("vae_approx");
      files = ["encoder", "decoder"].map((half) => {
        const file = approx.find((f) => f.startsWith(`${name}_${half}.`));
        // next() on an empty filter: Python's StopIteration.
        if (file === undefined) throw new PyException("StopIteration", "");
        return openModelFile(folders, "vae_approx", file);
      });
    } else files = [openModelFile(folders, "vae", name)];
    const vae = new VaeHandle(name, files);
    await ctx.models.memory.ensure(vae.units());
    return { result: [vae] };
  },
};

export const vaeDecode: NodeDefinition = {
  classType: "VAEDecode",
  displayName: "VAE Decode",
  description: "Decodes latent images back into pixel space images.",
  category: "latent",
  pythonModule: "nodes",
  functionName: "decode",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["IMAGE"],
  outputTooltips: ["The decoded image."],
  inputTypes: () => ({
    required: {
      samples: ["LATENT", { tooltip: "The latent to be decoded." }],
      vae: ["VAE", { tooltip: "The VAE model used for decoding the latent." }],
    },
  }),
  async run(inputs, ctx) {
    const vae = expectValue(inputs.vae, VaeHandle, "decode");
    const latent = expectValue(inputs.samples, Latent, "__getitem__");
    await ctx.models.memory.ensure(vae.units());
    const scale = compression(vae);
    const width = latent.width * scale;
    const height = latent.height * scale;
    const tensorBytes = latent.batch * width * height * 3 * 4;
    if (tensorBytes > IMAGE_TENSOR_BUDGET) throw cudaOutOfMemory(ctx.config, tensorBytes);
    const frames = Array.from({ length: latent.batch }, (_, i) => renderContent(latent.content, width, height, i));
    return { result: [new ImageBatch(width, height, frames)] };
  },
};

export const vaeEncode: NodeDefinition = {
  classType: "VAEEncode",
  displayName: "VAE Encode",
  category: "latent",
  pythonModule: "nodes",
  functionName: "encode",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["LATENT"],
  inputTypes: () => ({ required: { pixels: ["IMAGE"], vae: ["VAE"] } }),
  async run(inputs, ctx) {
    const vae = expectValue(inputs.vae, VaeHandle, "encode");
    const image = expectImage(inputs.pixels);
    await ctx.models.memory.ensure(vae.units());
    // vae_encode_crop_pixels: centre crop to whole latent cells.
    const scale = compression(vae);
    const width = Math.floor(image.width / scale) * scale;
    const height = Math.floor(image.height / scale) * scale;
    const x0 = Math.floor((image.width % scale) / 2);
    const y0 = Math.floor((image.height % scale) / 2);
    const frames = width === image.width && height === image.height ? image.frames : image.frames.map((f) => cropFrame(f, image.width, x0, y0, width, height));
    const pixels = new ImageBatch(width, height, frames);
    return { result: [new Latent(width / scale, height / scale, image.frames.length, latentChannels(vae), { kind: "pixels", image: pixels })] };
  },
};
