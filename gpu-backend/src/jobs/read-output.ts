/**
 * Reads one output file of a finished prompt. gpu-backend runs next to ComfyUI and knows its
 * folders (COMFY_BASE_DIR), so the file is read from disk: one HTTP round trip through ComfyUI's
 * `/view` less per output on the path to `job.succeeded`. The read is stricter than `/view`
 * (which follows symlinks anywhere): only `output` and `temp` files, resolved (symlinks included)
 * strictly inside their own folder, regular files only, at most `maxBytes`; anything else is
 * refused. Only a file that is not on disk at all (a custom node reporting a file it keeps
 * elsewhere) is still asked of `/view`.
 */
import { closeSync, constants, fstatSync, openSync, readFile, readSync, realpathSync } from "node:fs";
import { promisify } from "node:util";
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

/**
 * Below this size a file is read synchronously: every async fs call is a trip through libuv's
 * thread pool (a small output took ~3 ms in seven of them, more than `/view`); a read of a few
 * hundred KB takes well under a millisecond. Larger files are read asynchronously, never blocking.
 */
const SYNC_READ_BYTES = 1024 * 1024;
const readFd = promisify(readFile) as (fd: number) => Promise<Buffer>;

/** The file's bytes, or undefined when it cannot be read from its folder (then `/view` is asked). Throws a 413 ComfyError when too big. */
async function fromDisk(file: FileRef, dirs: ComfyDirs, maxBytes: number): Promise<Uint8Array | undefined> {
  const path = pathOf(dirs, file);
  const folder = file.type === "output" ? dirs.output : file.type === "temp" ? dirs.temp : undefined;
  if (!path || !folder) return undefined;
  let real: string;
  let realFolder: string;
  try {
    real = realpathSync(path);
    realFolder = realpathSync(folder);
  } catch {
    return undefined;
  }
  if (!inside(real, realFolder)) throw refused(file, "leads outside ComfyUI's folder");
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under an output name must not hang the job (it is refused below).
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw refused(file, "is not a regular file");
    if (stat.size > maxBytes) throw tooLarge(file, maxBytes);
    if (stat.size > SYNC_READ_BYTES) {
      // From the descriptor already checked, not the path (which could be swapped meanwhile).
      const bytes = await readFd(fd);
      // Grown since the stat: the cap holds for what was read.
      if (bytes.length > maxBytes) throw tooLarge(file, maxBytes);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    const bytes = new Uint8Array(stat.size);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return read === bytes.length ? bytes : bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function tooLarge(file: FileRef, maxBytes: number): ComfyError {
  return new ComfyError("status", `output ${file.filename} is larger than ${maxBytes} bytes`, 413);
}
