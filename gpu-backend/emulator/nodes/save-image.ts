/**
 * SaveImage and PreviewImage (nodes.py): write real PNGs and report them as UI output
 * `{"images": [{filename, subfolder, type}]}`.
 *
 * Faithful: `<prefix>_<counter:05>_.png` with the counter continuing from the files already in
 * the folder, `/` in the prefix making a subfolder, `%width%`/`%date%`-style variables, a prefix
 * that escapes the output dir failing with ComfyUI's exception, `prompt`/`extra_pnginfo` text
 * chunks unless metadata is disabled, zlib level 4 (SaveImage) / 1 (PreviewImage), and
 * PreviewImage's `ComfyUI_temp_<5 letters>_` prefix that stays fixed per node instance.
 */
import { writeFileSync } from "node:fs";
import { counterFileName, getSaveImagePath } from "../dirs.ts";
import { encodePng } from "../media/png.ts";
import { pyJsonDumps } from "../py/json.ts";
import { join } from "../py/path.ts";
import { isPlainObject, pyStr } from "../py/values.ts";
import { expectImage, type NodeDefinition, type NodeRunContext } from "./types.ts";

const DESCRIPTION = "Saves the input images to your ComfyUI output directory.";

interface SaveTarget {
  dir: string;
  type: "output" | "temp";
  prefixAppend: string;
  compressLevel: number;
}

function saveImages(inputs: Record<string, unknown>, ctx: NodeRunContext, target: SaveTarget) {
  const images = expectImage(inputs.images);
  const prefix = pyStr(inputs.filename_prefix ?? "ComfyUI") + target.prefixAppend;
  const path = getSaveImagePath(prefix, target.dir, images.width, images.height);
  const text: Array<[string, string]> = [];
  if (!ctx.config.disableMetadata) {
    text.push(["prompt", pyJsonDumps(ctx.prompt)]);
    const extra = ctx.extraData.extra_pnginfo;
    if (isPlainObject(extra)) for (const [key, value] of Object.entries(extra)) text.push([key, pyJsonDumps(value)]);
  }
  let counter = path.counter;
  const results = images.frames.map((frame, batchNumber) => {
    const file = counterFileName(path.filename, batchNumber, counter, "png");
    const png = encodePng({ width: images.width, height: images.height, channels: 3, data: frame }, { compressLevel: target.compressLevel, text });
    writeFileSync(join(path.fullOutputFolder, file), png);
    counter += 1;
    return { filename: file, subfolder: path.subfolder, type: target.type };
  });
  return { ui: { images: results } };
}

export const saveImage: NodeDefinition = {
  classType: "SaveImage",
  displayName: "Save Image",
  description: DESCRIPTION,
  category: "image",
  pythonModule: "nodes",
  functionName: "save_images",
  sourceFile: "nodes.py",
  outputNode: true,
  returnTypes: [],
  inputTypes: () => ({
    required: {
      images: ["IMAGE", { tooltip: "The images to save." }],
      filename_prefix: [
        "STRING",
        {
          default: "ComfyUI",
          tooltip:
            "The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.",
        },
      ],
    },
    hidden: { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" },
  }),
  run: (inputs, ctx) => saveImages(inputs, ctx, { dir: ctx.dirs.output, type: "output", prefixAppend: "", compressLevel: 4 }),
};

/** PreviewImage draws its 5 letters from this alphabet (sic: two p's, no w). */
const TEMP_ALPHABET = "abcdefghijklmnopqrstupvxyz";

export const previewImage: NodeDefinition = {
  classType: "PreviewImage",
  displayName: "Preview Image",
  description: DESCRIPTION,
  category: "image",
  pythonModule: "nodes",
  functionName: "save_images",
  sourceFile: "nodes.py",
  outputNode: true,
  returnTypes: [],
  inputTypes: () => ({ required: { images: ["IMAGE"] }, hidden: { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" } }),
  run(inputs, ctx) {
    // The suffix is chosen when ComfyUI instantiates the node object, which lives as long as the
    // node id keeps its class in consecutive prompts.
    if (typeof ctx.state.prefixAppend !== "string") {
      let letters = "";
      for (let i = 0; i < 5; i++) letters += TEMP_ALPHABET[Math.floor(Math.random() * TEMP_ALPHABET.length)];
      ctx.state.prefixAppend = `_temp_${letters}`;
    }
    return saveImages(inputs, ctx, { dir: ctx.dirs.temp, type: "temp", prefixAppend: ctx.state.prefixAppend as string, compressLevel: 1 });
  },
};
