/**
 * One blob download: the stream is written to a temporary file of its own while its size and
 * SHA-256 are checked chunk by chunk (more bytes than announced stop the download at once), the
 * file is fsynced, and only then renamed to its final name, so the final name only ever holds
 * verified, durable content. On any failure the temporary file is deleted; nothing is resumed
 * (a blob is fetched from the edge in one lease-bound request, not from a flaky mirror).
 */
import { createHash, randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

export type ModelFetchErrorKind = "corrupt" | "size" | "network" | "disk" | "disk_budget";

/**
 * Why a blob could not be cached: its bytes did not hash to the ref (`corrupt`), there were more
 * or fewer than announced (`size`), the source failed (`network`), this host's disk failed
 * (`disk`), or the cache cannot make room within its budget (`disk_budget`).
 */
export class ModelFetchError extends Error {
  readonly kind: ModelFetchErrorKind;
  constructor(kind: ModelFetchErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelFetchError";
    this.kind = kind;
  }
}

/** Temporary names: `<hash>.<uuid>.part`, never a final name, recognised (and deleted) at start. */
export const TEMP_SUFFIX = ".part";

export function tempName(sha256: string): string {
  return `${sha256}.${randomUUID()}${TEMP_SUFFIX}`;
}

/**
 * Streams `body` into `tempDir`, checks it against `expected`, and renames it to `finalPath`.
 * `abort` is called when the download is given up early (too many bytes, a disk error), so the
 * source can stop sending.
 */
export async function downloadBlob(
  body: ReadableStream<Uint8Array>,
  expected: { sha256: string; size: number },
  paths: { tempDir: string; finalPath: string },
  abort: (reason: Error) => void,
): Promise<void> {
  const temp = join(paths.tempDir, tempName(expected.sha256));
  const reader = body.getReader();
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // Read-only from the start: ComfyUI reads the blob through links, nothing may write it.
    file = await open(temp, "wx", 0o444).catch((err: unknown) => {
      throw new ModelFetchError("disk", `cannot create ${temp}: ${(err as Error).message}`, { cause: err });
    });
    const hash = createHash("sha256");
    let received = 0;
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new ModelFetchError("network", `the download failed after ${received} of ${expected.size} bytes: ${(err as Error).message}`, { cause: err });
      }
      if (chunk.done) break;
      received += chunk.value.byteLength;
      if (received > expected.size) throw new ModelFetchError("size", `more than the announced ${expected.size} bytes arrived`);
      hash.update(chunk.value);
      await writeAll(file, chunk.value);
    }
    if (received !== expected.size) throw new ModelFetchError("size", `got ${received} of the announced ${expected.size} bytes`);
    const digest = hash.digest("hex");
    if (digest !== expected.sha256) throw new ModelFetchError("corrupt", `the content's SHA-256 is ${digest}, not the announced one`);
    await file.sync().catch(diskError("fsync"));
    await file.close().catch(diskError("close"));
    file = undefined;
    await rename(temp, paths.finalPath).catch(diskError("rename"));
    await syncDir(dirname(paths.finalPath));
  } catch (err) {
    const failure = err instanceof ModelFetchError ? err : new ModelFetchError("disk", (err as Error).message, { cause: err });
    abort(failure);
    reader.cancel(failure).catch(() => {});
    await file?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    throw failure;
  }
}

async function writeAll(file: Awaited<ReturnType<typeof open>>, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.byteLength - offset).catch(diskError("write"));
    offset += bytesWritten;
  }
}

function diskError(what: string) {
  return (err: unknown): never => {
    throw new ModelFetchError("disk", `${what}: ${(err as Error).message}`, { cause: err });
  };
}

/** Makes a rename durable (the directory entry), where the platform allows opening a folder. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close().catch(() => {});
}
