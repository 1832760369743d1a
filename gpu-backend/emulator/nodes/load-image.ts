/**
 * LoadImage (nodes.py, "Load Image"): reads a file from the input dir.
 *
 * Faithful: the combo lists image files at the top of the input dir (sorted), VALIDATE_INPUTS
 * accepts any existing path (so `subfolder/name.png` and `name.png [temp]` work) and fails
 * with `Invalid image file: <value>`, IS_CHANGED is the file's sha256 (so re-uploading a
 * different file under the same name re-runs the node), outputs are IMAGE and MASK
 * (mask = 1 - alpha, or 64×64 zeros without alpha).
 * Simplified: only PNG is decoded; JPEG/GIF/WebP/BMP become flat grey at their real size.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { annotatedExists, annotatedPath } from "../dirs.ts";
import { decodePng } from "../media/png.ts";
import { sniffImage } from "../media/sniff.ts";
import { join } from "../py/path.ts";
import { PyException, pyStrCompare, pyStrRepr, pyTypeName } from "../py/values.ts";
import { ImageBatch, MaskBatch, type NodeDefinition } from "./types.ts";

/** Extensions Python's `mimetypes` maps to `image/*` (ComfyUI filters the combo with it). */
const IMAGE_EXTENSIONS = new Set([
  "png",
  "jpg",
  "jpeg",
  "jpe",
  "gif",
  "bmp",
  "webp",
  "tif",
  "tiff",
  "ico",
  "svg",
  "avif",
  "heic",
  "heif",
  "ief",
  "ras",
  "pnm",
  "pbm",
  "pgm",
  "ppm",
  "rgb",
  "xbm",
  "xpm",
  "xwd",
]);

export function listInputImages(inputDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(inputDir);
  } catch {
    return [];
  }
  return names
    .filter((name) => {
      try {
        return statSync(join(inputDir, name)).isFile();
      } catch {
        return false;
      }
    })
    .filter((name) => IMAGE_EXTENSIONS.has((name.split(".").pop() ?? "").toLowerCase()))
    .sort(pyStrCompare);
}

function requireName(value: unknown): string {
  if (typeof value === "string") return value;
  throw new PyException("AttributeError", `'${pyTypeName(value)}' object has no attribute 'endswith'`);
}

export const loadImage: NodeDefinition = {
  classType: "LoadImage",
  displayName: "Load Image",
  category: "image",
  pythonModule: "nodes",
  functionName: "load_image",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["IMAGE", "MASK"],
  inputTypes: (ctx) => ({ required: { image: [listInputImages(ctx.dirs.input), { image_upload: true }] } }),
  validateInputs: {
    args: ["image"],
    check(values, ctx) {
      const image = requireName(values.image);
      return annotatedExists(ctx.dirs, image) ? true : `Invalid image file: ${image}`;
    },
  },
  isChanged(values, ctx) {
    const path = annotatedPath(ctx.dirs, requireName(values.image));
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  },
  run(inputs, ctx) {
    const path = annotatedPath(ctx.dirs, requireName(inputs.image));
    let file: Buffer;
    try {
      file = readFileSync(path);
    } catch {
      throw new PyException("FileNotFoundError", `[Errno 2] No such file or directory: ${pyStrRepr(path)}`);
    }
    const sniffed = sniffImage(file);
    if (!sniffed) throw new PyException("PIL.UnidentifiedImageError", `cannot identify image file ${pyStrRepr(path)}`);
    if (sniffed.format !== "PNG") {
      const frame = new Uint8Array(sniffed.width * sniffed.height * 3).fill(128);
      return { result: [new ImageBatch(sniffed.width, sniffed.height, [frame]), new MaskBatch(64, 64, [new Uint8Array(64 * 64)])] };
    }
    let decoded: ReturnType<typeof decodePng>;
    try {
      decoded = decodePng(file);
    } catch (err) {
      throw new PyException("OSError", `image file is truncated or unsupported (${(err as Error).message})`);
    }
    const { width, height, data } = decoded;
    const rgb = new Uint8Array(width * height * 3);
    const mask = new Uint8Array(width * height);
    for (let i = 0; i < width * height; i++) {
      rgb[i * 3] = data[i * 4] ?? 0;
      rgb[i * 3 + 1] = data[i * 4 + 1] ?? 0;
      rgb[i * 3 + 2] = data[i * 4 + 2] ?? 0;
      mask[i] = 255 - (data[i * 4 + 3] ?? 255);
    }
    const masks = decoded.hasAlpha ? new MaskBatch(width, height, [mask]) : new MaskBatch(64, 64, [new Uint8Array(64 * 64)]);
    return { result: [new ImageBatch(width, height, [rgb]), masks] };
  },
};
