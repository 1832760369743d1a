/**
 * Reads one output file of a finished prompt. gpu-backend runs next to ComfyUI and knows its
 * folders (COMFY_BASE_DIR), so the file is read from disk: one HTTP round trip through ComfyUI's
 * `/view` less per output on the path to `job.succeeded`. The read is stricter than `/view`
 * (which follows symlinks anywhere): only `output` and `temp` files, resolved (symlinks included)
 * strictly inside their own folder, regular files only, at most `maxBytes`; anything else is
 * refused. Only a file that is not on disk at all (a custom node reporting a file it keeps
 * elsewhere) is still asked of `/view`.
 */
import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { type ComfyClient, ComfyError, type FileRef } from "../comfy/client.ts";
import type { ComfyDirs } from "../config.ts";
import { inside, pathOf } from "./files.ts";

export interface OutputBytes {
  bytes: Uint8Array;
  contentType: string | undefined;
  /** Where the bytes came from (for the log and the benchmarks). */
  source: "disk" | "view";
}

export async function readOutput(
  file: FileRef,
  deps: { comfy: Pick<ComfyClient, "view">; dirs: ComfyDirs; maxBytes: number; timeoutMs: number },
): Promise<OutputBytes> {
  const bytes = await fromDisk(file, deps.dirs, deps.maxBytes);
  if (bytes) return { bytes, contentType: undefined, source: "disk" };
  const viewed = await deps.comfy.view(file, deps.maxBytes, deps.timeoutMs);
  return { ...viewed, source: "view" };
}

function refused(file: FileRef, why: string): ComfyError {
  return new ComfyError("status", `output ${file.filename} ${why}`, 403);
}

/** The file's bytes, or undefined when it cannot be read from its folder (then `/view` is asked). Throws a 413 ComfyError when too big. */
async function fromDisk(file: FileRef, dirs: ComfyDirs, maxBytes: number): Promise<Uint8Array | undefined> {
  const path = pathOf(dirs, file);
  const folder = file.type === "output" ? dirs.output : file.type === "temp" ? dirs.temp : undefined;
  if (!path || !folder) return undefined;
  let real: string;
  let realFolder: string;
  try {
    [real, realFolder] = await Promise.all([realpath(path), realpath(folder)]);
  } catch {
    return undefined;
  }
  if (!inside(real, realFolder)) throw refused(file, "leads outside ComfyUI's folder");
  // O_NONBLOCK: a FIFO planted under an output name must not hang the job (it is refused below).
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refused(file, "is not a regular file");
    if (stat.size > maxBytes) throw new ComfyError("status", `output ${file.filename} is larger than ${maxBytes} bytes`, 413);
    const bytes = await handle.readFile();
    // Still being written or grown meanwhile: the cap holds for what was read.
    if (bytes.length > maxBytes) throw new ComfyError("status", `output ${file.filename} is larger than ${maxBytes} bytes`, 413);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  } finally {
    await handle.close().catch(() => {});
  }
}
