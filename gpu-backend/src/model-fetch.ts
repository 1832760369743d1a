/**
 * Downloads a locked model file into the ComfyUI folder: resumable (an interrupted download is
 * continued with a `Range` request from the `.part` file's length), capped at the locked size, and
 * moved into place only after its SHA-256 matches the lock. A file already in place is checked,
 * never silently replaced.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { LockFile } from "./locks.ts";
import { fileSha256 } from "./locks.ts";

export type LockedModel = LockFile["models"][number];
export type FetchOutcome = "present" | "downloaded" | "resumed";

export class ModelFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelFetchError";
  }
}

export async function fetchModel(
  model: Pick<LockedModel, "name" | "url" | "sha256" | "size" | "path">,
  comfyDir: string,
  opts: { timeoutMs?: number } = {},
): Promise<FetchOutcome> {
  const target = join(comfyDir, model.path);
  if (existsSync(target)) {
    if (statSync(target).size === model.size && (await fileSha256(target)) === model.sha256) return "present";
    throw new ModelFetchError(`${model.name}: ${model.path} exists but differs from the lock; move it away first`);
  }
  mkdirSync(dirname(target), { recursive: true });
  const part = `${target}.part`;
  let offset = existsSync(part) ? statSync(part).size : 0;
  if (offset > model.size) {
    rmSync(part);
    offset = 0;
  }
  let resumed = false;
  if (offset < model.size) {
    const res = await fetch(model.url, {
      headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
      redirect: "follow",
      signal: AbortSignal.timeout(opts.timeoutMs ?? 6 * 60 * 60 * 1000),
    });
    if (offset > 0 && res.status === 206) resumed = true;
    else if (res.status === 200)
      offset = 0; // the server ignored the range: start over
    else {
      await res.body?.cancel();
      throw new ModelFetchError(`${model.name}: GET ${new URL(model.url).host} → ${res.status}`);
    }
    if (!res.body) throw new ModelFetchError(`${model.name}: empty response`);
    // Each chunk is on disk before the next is read, so after a failure the .part file holds
    // everything received and the next run resumes from exactly there.
    const file = await open(part, offset > 0 ? "a" : "w");
    try {
      let written = offset;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        written += chunk.length;
        if (written > model.size) throw new ModelFetchError(`${model.name}: server sent more than the locked ${model.size} bytes`);
        await file.write(chunk);
      }
    } finally {
      await file.close();
    }
  }
  const size = statSync(part).size;
  if (size !== model.size) throw new ModelFetchError(`${model.name}: got ${size} of ${model.size} bytes; run again to resume`);
  if ((await fileSha256(part)) !== model.sha256) {
    rmSync(part);
    throw new ModelFetchError(`${model.name}: SHA-256 differs from the lock; the partial file was removed`);
  }
  renameSync(part, target);
  return resumed ? "resumed" : "downloaded";
}
