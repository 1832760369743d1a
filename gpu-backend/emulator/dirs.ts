/**
 * The input/output/temp directories and ComfyUI's rules for naming files in them
 * (`folder_paths.py`): annotated names (`x.png [output]`), and SaveImage's
 * `<prefix>_<counter:05>_.png` naming with the counter read back from the folder.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import type { EmulatorConfig } from "./config.ts";
import * as py from "./py/path.ts";
import { PyException, pyInt } from "./py/values.ts";

export interface WorkDirs {
  base: string;
  input: string;
  output: string;
  temp: string;
  /** True when the emulator created `base` and removes it on close. */
  ownsBase: boolean;
}

export type DirType = "input" | "output" | "temp";

export function prepareDirs(config: EmulatorConfig): WorkDirs {
  const ownsBase = config.baseDir === undefined;
  const base = ownsBase ? mkdtempSync(resolve(tmpdir(), "comfyui-emulator-")) : resolve(config.baseDir as string);
  const dirs: WorkDirs = {
    base,
    input: resolve(config.inputDir ?? resolve(base, "input")),
    output: resolve(config.outputDir ?? resolve(base, "output")),
    temp: resolve(config.tempDir ?? resolve(base, "temp")),
    ownsBase,
  };
  // ComfyUI wipes the temp dir at start-up (cleanup_temp) and again on exit.
  rmSync(dirs.temp, { recursive: true, force: true });
  for (const dir of [dirs.input, dirs.output, dirs.temp]) mkdirSync(dir, { recursive: true });
  return dirs;
}

export function cleanupDirs(dirs: WorkDirs): void {
  rmSync(dirs.temp, { recursive: true, force: true });
  if (dirs.ownsBase) rmSync(dirs.base, { recursive: true, force: true });
}

export function dirByType(dirs: WorkDirs, type: string): string | undefined {
  if (type === "output") return dirs.output;
  if (type === "temp") return dirs.temp;
  if (type === "input") return dirs.input;
  return undefined;
}

/** `folder_paths.annotated_filepath`: strips a trailing ` [output]`/` [input]`/` [temp]`. */
export function annotatedFilepath(dirs: WorkDirs, name: string): { name: string; baseDir: string | undefined } {
  // ComfyUI cuts one extra character, assuming a space before the bracket.
  if (name.endsWith("[output]")) return { name: name.slice(0, -9), baseDir: dirs.output };
  if (name.endsWith("[input]")) return { name: name.slice(0, -8), baseDir: dirs.input };
  if (name.endsWith("[temp]")) return { name: name.slice(0, -7), baseDir: dirs.temp };
  return { name, baseDir: undefined };
}

/** `folder_paths.get_annotated_filepath` with the input dir as fallback. */
export function annotatedPath(dirs: WorkDirs, name: string): string {
  const annotated = annotatedFilepath(dirs, name);
  return py.join(annotated.baseDir ?? dirs.input, annotated.name);
}

export function annotatedExists(dirs: WorkDirs, name: string): boolean {
  return existsSync(annotatedPath(dirs, name));
}

export interface SavePath {
  fullOutputFolder: string;
  filename: string;
  counter: number;
  subfolder: string;
}

/** `folder_paths.get_save_image_path`. Throws ComfyUI's exception when the prefix escapes `outputDir`. */
export function getSaveImagePath(filenamePrefix: string, outputDir: string, width = 0, height = 0): SavePath {
  const prefix = filenamePrefix.includes("%") ? computeVars(filenamePrefix, width, height) : filenamePrefix;
  const subfolder = py.dirname(py.normpath(prefix));
  const filename = py.basename(py.normpath(prefix));
  const fullOutputFolder = py.join(outputDir, subfolder);
  const common = py.commonpath(outputDir, py.abspath(fullOutputFolder));
  if (common !== outputDir) {
    throw new PyException(
      "Exception",
      "**** ERROR: Saving image outside the output folder is not allowed." +
        `\n full_output_folder: ${py.abspath(fullOutputFolder)}` +
        `\n         output_dir: ${outputDir}` +
        `\n         commonpath: ${common}`,
      [{ file: "folder_paths.py", line: 397, fn: "get_save_image_path", code: "raise Exception(err)" }],
    );
  }
  const prefixLen = py.basename(prefix).length;
  let counter = 1;
  let entries: string[];
  try {
    entries = readdirSync(fullOutputFolder);
  } catch {
    mkdirSync(fullOutputFolder, { recursive: true });
    return { fullOutputFolder, filename, counter, subfolder };
  }
  let best: [number, string] | undefined;
  for (const entry of entries) {
    const head = entry.slice(0, prefixLen + 1);
    if (head.slice(0, -1) !== filename || !head.endsWith("_")) continue;
    let digits = 0;
    try {
      digits = pyInt(entry.slice(prefixLen + 1).split("_")[0]);
    } catch {
      digits = 0;
    }
    if (!best || digits > best[0]) best = [digits, head];
  }
  if (best) counter = best[0] + 1;
  return { fullOutputFolder, filename, counter, subfolder };
}

function computeVars(input: string, width: number, height: number): string {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  return input
    .replaceAll("%width%", String(width))
    .replaceAll("%height%", String(height))
    .replaceAll("%year%", String(now.getFullYear()))
    .replaceAll("%month%", two(now.getMonth() + 1))
    .replaceAll("%day%", two(now.getDate()))
    .replaceAll("%hour%", two(now.getHours()))
    .replaceAll("%minute%", two(now.getMinutes()))
    .replaceAll("%second%", two(now.getSeconds()));
}

/** `<name>_<counter:05>_.<ext>` with `%batch_num%` filled in, as SaveImage/SaveAudio name files. */
export function counterFileName(filename: string, batchNumber: number, counter: number, ext: string): string {
  return `${filename.replaceAll("%batch_num%", String(batchNumber))}_${String(counter).padStart(5, "0")}_.${ext}`;
}
