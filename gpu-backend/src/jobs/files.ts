/**
 * A job's files in ComfyUI's folders, and removing them. ComfyUI has no API to delete a file, so
 * gpu-backend — which always knows the folders (COMFY_BASE_DIR) — removes them itself:
 * - the job's namespace folder in `input/`, `output/` and `temp/` (inputs are uploaded there and
 *   every `filename_prefix` points there);
 * - every file its prompt wrote, as its history entry reports (type `output` or `temp`, nodes
 *   served from cache left out — they repeat another prompt's files):
 *   PreviewImage and the other preview nodes cannot be pointed at a subfolder and write into the
 *   root of `temp/`, under a prefix ComfyUI reuses across prompts.
 * A reported file is resolved inside its own folder or not at all, so nothing ComfyUI (or a
 * custom node) reports can make us delete anything outside the output and temp folders.
 */
import { rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import type { FileRef } from "../comfy/client.ts";
import type { HistoryEntry } from "../comfy/schemas.ts";
import type { ComfyDirs } from "../config.ts";
import { listOutputFiles } from "./outputs.ts";
import { NAMESPACE_ROOT } from "./workflow.ts";

/** Strictly inside `parent` (not `parent` itself). */
export function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/** The folders holding every job's own subfolder: `<input|output|temp>/saas`. */
export function jobRoots(dirs: ComfyDirs): string[] {
  return [dirs.input, dirs.output, dirs.temp].map((d) => join(d, NAMESPACE_ROOT));
}

/** The job's own subfolder in each of ComfyUI's folders. */
export function namespaceFolders(dirs: ComfyDirs, namespace: string): string[] {
  return [dirs.input, dirs.output, dirs.temp].map((d) => resolve(d, namespace));
}

/** Where ComfyUI keeps a reported `output`/`temp` file; undefined for other types or a path that escapes. */
export function pathOf(dirs: ComfyDirs, ref: FileRef): string | undefined {
  const dir = ref.type === "output" ? dirs.output : ref.type === "temp" ? dirs.temp : undefined;
  if (!dir || ref.filename === "") return undefined;
  const full = resolve(dir, ref.subfolder, ref.filename);
  return inside(full, dir) ? full : undefined;
}

/** Files of the given UI output (`{images: [{filename, subfolder, type}]}` …). */
export function filesOfUi(dirs: ComfyDirs, ui: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const items of Object.values(ui)) {
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (typeof item !== "object" || item === null) continue;
      const f = item as { filename?: unknown; subfolder?: unknown; type?: unknown };
      if (typeof f.filename !== "string") continue;
      const path = pathOf(dirs, {
        filename: f.filename,
        subfolder: typeof f.subfolder === "string" ? f.subfolder : "",
        type: typeof f.type === "string" ? f.type : "output",
      });
      if (path) out.push(path);
    }
  }
  return out;
}

/** The files this prompt wrote (nodes served from cache report another prompt's files: left out). */
export function filesOfEntry(dirs: ComfyDirs, entry: HistoryEntry): string[] {
  return listOutputFiles(entry).files.flatMap((f) => pathOf(dirs, f.ref) ?? []);
}

/**
 * Up to this many reported files, a job's files are removed synchronously: it runs on every job's
 * path to its terminal event, and each async removal is several trips through libuv's thread pool
 * (about 2 ms for a one-image job), where the system calls themselves take microseconds.
 */
const SYNC_REMOVE_FILES = 32;

/** Removes the job's namespace folders and the given files; returns what could not be removed. */
export async function removeJobFiles(dirs: ComfyDirs, namespace: string, files: Iterable<string>): Promise<Array<{ path: string; error: string }>> {
  const failures: Array<{ path: string; error: string }> = [];
  const targets = [...namespaceFolders(dirs, namespace), ...new Set(files)];
  if (targets.length <= SYNC_REMOVE_FILES + 3) {
    for (const path of targets) {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch (err) {
        failures.push({ path, error: (err as Error).message });
      }
    }
    return failures;
  }
  await Promise.all(
    targets.map((path) =>
      rm(path, { recursive: true, force: true }).catch((err: unknown) => {
        failures.push({ path, error: (err as Error).message });
      }),
    ),
  );
  return failures;
}
