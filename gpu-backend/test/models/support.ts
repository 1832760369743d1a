// Shared pieces of the model-cache tests: fresh folders per test, blobs made of in-memory bytes,
// and a blob source whose streams the test controls (hold one open, cut it, corrupt it).
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deferred } from "../../src/lib/async.ts";
import { silentLogger } from "../../src/log.ts";
import { type FetchBlob, ModelCache, type ModelCacheOptions, type ModelRef } from "../../src/models/cache.ts";

export interface Dirs {
  root: string;
  cacheDir: string;
  modelsDir: string;
  cleanup(): Promise<void>;
}

export async function tempDirs(): Promise<Dirs> {
  const root = await mkdtemp(join(tmpdir(), "model-cache-"));
  return { root, cacheDir: join(root, "cache"), modelsDir: join(root, "models"), cleanup: () => rm(root, { recursive: true, force: true }) };
}

export function blob(content: string, folder = "checkpoints", name = `${content.slice(0, 8)}.safetensors`): { ref: ModelRef; bytes: Uint8Array } {
  const bytes = new TextEncoder().encode(content);
  return { bytes, ref: { sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.byteLength, folder, name } };
}

/** `n` bytes of filler, distinct per `seed`, named `<seed>.safetensors`. */
export function sized(seed: string, n: number, folder = "checkpoints") {
  return blob(seed.padEnd(n, "."), folder, `${seed}.safetensors`);
}

/** A stream of `bytes` in chunks of `chunk` bytes. */
export function streamOf(bytes: Uint8Array, chunk = 7): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/**
 * Serves blobs from memory by hash. `calls` lists every fetch; `gate`, when set, holds every stream
 * before its first byte until the test resolves it; `started` resolves at the first fetch.
 */
export class BlobSource {
  readonly blobs = new Map<string, Uint8Array>();
  readonly calls: ModelRef[] = [];
  readonly signals: AbortSignal[] = [];
  readonly started = deferred<void>();
  gate: Promise<void> | undefined;
  /** Replaces the stream of the next fetches (corrupted, cut, endless …). */
  override: ((ref: ModelRef, bytes: Uint8Array) => ReadableStream<Uint8Array>) | undefined;

  add(...items: { ref: ModelRef; bytes: Uint8Array }[]): this {
    for (const item of items) this.blobs.set(item.ref.sha256, item.bytes);
    return this;
  }

  fetchBlob: FetchBlob = async (ref, signal) => {
    this.calls.push(ref);
    this.signals.push(signal);
    this.started.resolve();
    const bytes = this.blobs.get(ref.sha256);
    if (!bytes) throw new Error(`no blob ${ref.sha256}`);
    const inner = this.override ? this.override(ref, bytes) : streamOf(bytes);
    const gate = this.gate;
    if (!gate) return inner;
    const reader = inner.getReader();
    let opened = false;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!opened) {
          await gate;
          opened = true;
        }
        const next = await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
  };
}

export async function newCache(dirs: Dirs, source: BlobSource, opts: Partial<ModelCacheOptions> = {}): Promise<ModelCache> {
  const cache = new ModelCache({
    cacheDir: dirs.cacheDir,
    modelsDir: dirs.modelsDir,
    budgetBytes: 1024 * 1024,
    fetchBlob: source.fetchBlob,
    log: silentLogger,
    ...opts,
  });
  await cache.init();
  return cache;
}

export async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Everything in the cache folder, relative (`sha256/<hash>`, `tmp/<name>`). */
export async function cacheFiles(dirs: Dirs): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ["sha256", "tmp"]) for (const name of await readdir(join(dirs.cacheDir, sub)).catch(() => [])) out.push(`${sub}/${name}`);
  return out.sort();
}

export function linkOf(dirs: Dirs, ref: ModelRef): string {
  return join(dirs.modelsDir, ref.folder, ref.name);
}
