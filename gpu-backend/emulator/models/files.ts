/**
 * Opening a model file the way a loader node does: `get_full_path_or_raise` (FileNotFoundError
 * with ComfyUI's text), then the header (`comfy.utils.load_torch_file`): a `.safetensors`/`.sft`
 * file with a broken header fails as the safetensors crate fails, wrapped in ComfyUI's ValueError
 * for HeaderTooLarge (the usual sign of a file that is not safetensors at all). Other extensions
 * (pickles ComfyUI would `torch.load`) are read as fake models when they are shaped like one, and
 * otherwise stand for their real size.
 */
import { statSync } from "node:fs";
import { PyException } from "../py/values.ts";
import type { ModelFolders } from "./folders.ts";
import { type ModelHeader, readSafetensorsHeader, SafetensorsHeaderError } from "./safetensors.ts";

export interface ModelFile {
  /** Canonical folder name (`checkpoints`, `loras` …) and the name as the combo lists it. */
  folder: string;
  name: string;
  path: string;
  sizeBytes: number;
  /** Declared `modelspec.architecture`, if any. */
  architecture: string | undefined;
  metadata: Record<string, string>;
}

/** `<folder>/<name>`: the file's identity in VRAM bookkeeping and scripted OOMs. */
export function modelKey(file: Pick<ModelFile, "folder" | "name">): string {
  return `${file.folder}/${file.name}`;
}

export function openModelFile(folders: ModelFolders, folder: string, name: string): ModelFile {
  const path = folders.fullPathOrRaise(folder, name);
  return { folder, name, path, ...readHeader(path) };
}

function readHeader(path: string): ModelHeader {
  const lower = path.toLowerCase();
  const safetensors = lower.endsWith(".safetensors") || lower.endsWith(".sft");
  try {
    return readSafetensorsHeader(path);
  } catch (err) {
    if (!(err instanceof SafetensorsHeaderError)) throw err;
    if (!safetensors) return { metadata: {}, sizeBytes: statSync(path).size, architecture: undefined };
    const frame = {
      file: "comfy/utils.py",
      line: 59,
      fn: "load_torch_file",
      code: 'with safetensors.safe_open(ckpt, framework="pt", device=device.type) as f:',
    };
    if (err.variant === "HeaderTooLarge") {
      throw new PyException(
        "ValueError",
        `${err.message}\n\nFile path: ${path}\n\nThe safetensors file is corrupt or invalid. Make sure this is actually a safetensors file and not a ckpt or pt or other filetype.`,
        [
          {
            ...frame,
            line: 72,
            code: 'raise ValueError("{}\\n\\nFile path: {}\\n\\nThe safetensors file is corrupt or invalid. Make sure this is actually a safetensors file and not a ckpt or pt or other filetype.".format(message, ckpt))',
          },
        ],
      );
    }
    throw new PyException("safetensors_rust.SafetensorError", err.message, [frame]);
  }
}
