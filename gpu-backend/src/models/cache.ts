/**
 * The host's model cache: model files fetched on demand, stored by content and shown to ComfyUI
 * under the names jobs use.
 *
 * A blob is `cacheDir/sha256/<hash>`; it gets that name only once its size and SHA-256 were checked
 * and it was fsynced (download.ts), so whatever carries a final name is verified — a restart trusts
 * the name. ComfyUI sees it through a symlink `modelsDir/<folder>/<name>` (links.ts), made after the
 * blob is complete and removed before the blob is. One download per hash at a time: concurrent
 * callers join it. Total blob bytes stay within `budgetBytes`: before a download, least recently
 * ensured blobs are evicted, never a pinned one (a pool's always-kept models) nor one a holder (a
 * job) uses; if that cannot make room the download does not start.
 *
 * Every decision that reads or changes the index (hit, join, room, eviction) is taken synchronously,
 * between awaits, so concurrent calls cannot both count the same free bytes or evict a blob another
 * call has just claimed.
 */
import { mkdir, readdir, rm, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { downloadBlob, ModelFetchError } from "./download.ts";
import { findLinks, linkName, placeLink, removeLink } from "./links.ts";
import { checkRef, isWithin, ModelPathError, type ModelRef, SHA256_HEX } from "./ref.ts";

export { ModelFetchError, type ModelFetchErrorKind } from "./download.ts";
export { ModelPathError, type ModelPathErrorKind, type ModelRef } from "./ref.ts";

/**
 * Opens the blob's content (a signed GET from the edge under `holder`'s lease: the job whose
 * ensure() started the download). Should honour `signal`.
 */
export type FetchBlob = (ref: ModelRef, signal: AbortSignal, holder: string) => Promise<ReadableStream<Uint8Array>>;

export type EnsureOutcome = "hit" | "fetched" | "joined";

export interface EnsureResult {
  outcome: EnsureOutcome;
  /** Time this call waited for the blob's download (0 on a hit). */
  fetch_ms: number;
  /** Bytes of the download this call waited for (0 on a hit). */
  bytes: number;
}

export interface CacheEntry {
  sha256: string;
  size: number;
  /** Epoch ms of the last `ensure` (for blobs found at start: their file's mtime). */
  last_used: number;
  pinned: boolean;
  in_use: boolean;
  /** `folder/name` of every link ComfyUI sees it under. */
  links: string[];
}

export interface CacheStats {
  /** Bytes of blobs downloaded and verified. */
  fetched_bytes: number;
  hits: number;
  joins: number;
  evictions: number;
  /** Downloads that failed, and ensures refused for the budget. */
  failed_fetches: number;
}

export type ModelCacheMetrics = Pick<
  Metrics,
  "modelCacheFetchedBytes" | "modelCacheHits" | "modelCacheJoins" | "modelCacheEvictions" | "modelCacheFailedFetches"
>;

export interface ModelCacheOptions {
  cacheDir: string;
  modelsDir: string;
  budgetBytes: number;
  fetchBlob: FetchBlob;
  log: Logger;
  /** Epoch ms; recency is ordered by it (ties by order of use). */
  clock?: () => number;
  metrics?: ModelCacheMetrics;
}

interface Blob {
  size: number;
  lastUsed: number;
  /** Order of use, for ties of `lastUsed`. */
  seq: number;
  /** Absolute paths of the links made to it. */
  links: Set<string>;
}

export class ModelCache {
  private readonly cacheDir: string;
  private readonly modelsDir: string;
  private readonly blobsDir: string;
  private readonly tempDir: string;
  private readonly budgetBytes: number;
  private readonly fetchBlob: FetchBlob;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly metrics: ModelCacheMetrics | undefined;

  private ready = false;
  private seq = 0;
  private readonly blobs = new Map<string, Blob>();
  /** Downloads under way, by hash; joiners await the same promise. */
  private readonly downloads = new Map<string, Promise<void>>();
  /** Bytes set aside for downloads under way (room made before they started). */
  private readonly reserved = new Map<string, number>();
  /** Blobs being deleted (out of the index already); an ensure of one waits, then fetches it again. */
  private readonly removing = new Map<string, Promise<void>>();
  /** Holders (job ids) of each blob. */
  private readonly users = new Map<string, Set<string>>();
  private pinned = new Set<string>();
  private readonly counters: CacheStats = { fetched_bytes: 0, hits: 0, joins: 0, evictions: 0, failed_fetches: 0 };

  constructor(opts: ModelCacheOptions) {
    this.cacheDir = resolve(opts.cacheDir);
    this.modelsDir = resolve(opts.modelsDir);
    if (isWithin(this.cacheDir, this.modelsDir) || isWithin(this.modelsDir, this.cacheDir))
      throw new Error("the model cache folder and the models folder must be apart (ComfyUI would list the blobs)");
    if (!Number.isFinite(opts.budgetBytes) || opts.budgetBytes < 0) throw new Error("budgetBytes must be a non-negative number");
    this.blobsDir = join(this.cacheDir, "sha256");
    this.tempDir = join(this.cacheDir, "tmp");
    this.budgetBytes = opts.budgetBytes;
    this.fetchBlob = opts.fetchBlob;
    this.log = opts.log;
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics;
  }

  /**
   * Recovers from whatever the last process left: deletes temporary downloads and temporary links,
   * indexes the blobs (their names were given after verification), and removes links into the
   * cache whose blob is gone. Call once before `ensure`.
   */
  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.tempDir, { recursive: true });
    let tempFiles = 0;
    for (const name of await readdir(this.tempDir)) {
      await rm(join(this.tempDir, name), { recursive: true, force: true });
      tempFiles++;
    }
    const found: { hash: string; size: number; mtime: number }[] = [];
    for (const entry of await readdir(this.blobsDir, { withFileTypes: true })) {
      if (entry.isFile() && SHA256_HEX.test(entry.name)) {
        const info = await stat(join(this.blobsDir, entry.name));
        found.push({ hash: entry.name, size: info.size, mtime: info.mtimeMs });
      } else this.log.warn("model_cache_stray_entry", { name: entry.name });
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const f of found) this.blobs.set(f.hash, { size: f.size, lastUsed: Math.floor(f.mtime), seq: ++this.seq, links: new Set() });
    let danglingLinks = 0;
    for (const link of await findLinks(this.modelsDir, this.blobsDir)) {
      const blob = "hash" in link ? this.blobs.get(link.hash) : undefined;
      if (blob) blob.links.add(link.path);
      else {
        await unlink(link.path).catch(() => {});
        danglingLinks++;
      }
    }
    this.ready = true;
    this.log.info("model_cache_ready", { blobs: this.blobs.size, bytes: this.usedBytes(), temp_files_removed: tempFiles, links_removed: danglingLinks });
  }

  /**
   * Makes `ref` visible to ComfyUI at `modelsDir/<folder>/<name>`, downloading it unless cached,
   * and marks it used by `holder` until `release(holder)`. Throws ModelPathError (bad ref, or the
   * place holds a file the cache does not manage) or ModelFetchError.
   */
  async ensure(ref: ModelRef, holder: string): Promise<EnsureResult> {
    if (!this.ready) throw new Error("ModelCache.init() has not completed");
    const linkPath = checkRef(this.modelsDir, ref);
    if (typeof holder !== "string" || holder === "") throw new ModelPathError("invalid", "holder must be a non-empty string");
    const newlyHeld = this.hold(ref.sha256, holder);
    try {
      const result = await this.blob(ref, holder);
      const replaced = await placeLink(linkPath, ref.sha256, this.blobsDir);
      if (replaced !== undefined) this.blobs.get(replaced)?.links.delete(linkPath);
      const blob = this.blobs.get(ref.sha256);
      if (blob) {
        blob.links.add(linkPath);
        blob.lastUsed = this.clock();
        blob.seq = ++this.seq;
      }
      return result;
    } catch (err) {
      if (newlyHeld) this.unhold(ref.sha256, holder);
      throw err;
    }
  }

  /** The blobs `holder` used are no longer in use by it (they stay cached, evictable if nothing else holds them). */
  release(holder: string): void {
    for (const [hash, holders] of this.users) {
      holders.delete(holder);
      if (holders.size === 0) this.users.delete(hash);
    }
  }

  /** The blobs never evicted (replaces the previous set): a pool's always-kept models. */
  pin(sha256s: string[]): void {
    for (const hash of sha256s) if (!SHA256_HEX.test(hash)) throw new ModelPathError("invalid", "a pinned sha256 must be 64 lowercase hex digits");
    this.pinned = new Set(sha256s);
  }

  /** What is cached, most recently used first. */
  entries(): CacheEntry[] {
    return [...this.blobs]
      .sort(([, a], [, b]) => b.lastUsed - a.lastUsed || b.seq - a.seq)
      .map(([sha256, blob]) => ({
        sha256,
        size: blob.size,
        last_used: blob.lastUsed,
        pinned: this.pinned.has(sha256),
        in_use: this.users.has(sha256),
        links: [...blob.links].map((path) => linkName(this.modelsDir, path)).sort(),
      }));
  }

  stats(): CacheStats {
    return { ...this.counters };
  }

  /** The blob in place (verified, of `ref.size` bytes), however it got there. */
  private async blob(ref: ModelRef, holder: string): Promise<EnsureResult> {
    const hash = ref.sha256;
    const started = this.clock();
    let joined = false;
    for (;;) {
      const removing = this.removing.get(hash);
      if (removing) {
        await removing;
        continue;
      }
      const blob = this.blobs.get(hash);
      if (blob) {
        if (!(await this.intact(hash, blob, ref))) continue;
        if (joined) {
          this.count("joins");
          return { outcome: "joined", fetch_ms: this.clock() - started, bytes: blob.size };
        }
        this.count("hits");
        return { outcome: "hit", fetch_ms: 0, bytes: 0 };
      }
      const running = this.downloads.get(hash);
      if (running) {
        await running;
        joined = true;
        continue;
      }
      const download = this.download(ref, holder).finally(() => this.downloads.delete(hash));
      this.downloads.set(hash, download);
      await download;
      return { outcome: "fetched", fetch_ms: this.clock() - started, bytes: ref.size };
    }
  }

  /**
   * Whether the indexed blob is still on disk as verified. A ref announcing another size than the
   * blob's is refused (the blob is kept: the hash vouches for it). A blob changed or deleted behind
   * the cache's back is forgotten, so the caller fetches it again.
   */
  private async intact(hash: string, blob: Blob, ref: ModelRef): Promise<boolean> {
    const info = await stat(join(this.blobsDir, hash)).catch(() => undefined);
    if (info?.isFile() && info.size === blob.size) {
      if (blob.size !== ref.size) throw new ModelFetchError("size", `the cached blob ${hash} has ${blob.size} bytes; the ref announces ${ref.size}`);
      return true;
    }
    if (this.blobs.get(hash) === blob) {
      this.log.warn("model_cache_blob_damaged", { sha256: hash, expected_size: blob.size, found_size: info?.size ?? null });
      await this.remove(hash);
    }
    return false;
  }

  private async download(ref: ModelRef, holder: string): Promise<void> {
    const hash = ref.sha256;
    const started = this.clock();
    try {
      await this.makeRoom(ref);
      const controller = new AbortController();
      let body: ReadableStream<Uint8Array>;
      try {
        body = await this.fetchBlob(ref, controller.signal, holder);
      } catch (err) {
        throw err instanceof ModelFetchError ? err : new ModelFetchError("network", `the download did not start: ${(err as Error).message}`, { cause: err });
      }
      await downloadBlob(body, ref, { tempDir: this.tempDir, finalPath: join(this.blobsDir, hash) }, (reason) => controller.abort(reason));
      this.blobs.set(hash, { size: ref.size, lastUsed: this.clock(), seq: ++this.seq, links: new Set() });
      this.counters.fetched_bytes += ref.size;
      this.metrics?.modelCacheFetchedBytes.inc(ref.size);
      this.log.info("model_cache_fetched", { sha256: hash, size: ref.size, fetch_ms: this.clock() - started });
    } catch (err) {
      const kind = err instanceof ModelFetchError ? err.kind : "network";
      this.counters.failed_fetches++;
      this.metrics?.modelCacheFailedFetches.inc({ kind });
      this.log.warn("model_cache_fetch_failed", { sha256: hash, size: ref.size, kind, message: (err as Error).message });
      throw err;
    } finally {
      this.reserved.delete(hash);
    }
  }

  /**
   * Sets `ref.size` bytes aside for its download, evicting least recently used blobs that are
   * neither pinned nor held until they fit. Nothing is evicted when even that would not be enough.
   */
  private async makeRoom(ref: ModelRef): Promise<void> {
    const over = this.usedBytes() + ref.size - this.budgetBytes;
    const victims: string[] = [];
    if (over > 0) {
      const candidates = [...this.blobs]
        .filter(([hash]) => !this.pinned.has(hash) && !this.users.has(hash))
        .sort(([, a], [, b]) => a.lastUsed - b.lastUsed || a.seq - b.seq);
      let freed = 0;
      for (const [hash, blob] of candidates) {
        if (freed >= over) break;
        victims.push(hash);
        freed += blob.size;
      }
      if (freed < over)
        throw new ModelFetchError(
          "disk_budget",
          `${ref.size} bytes do not fit in the ${this.budgetBytes}-byte model cache: ${this.usedBytes()} bytes are cached or being fetched, ${freed} of them evictable`,
        );
    }
    this.reserved.set(ref.sha256, ref.size);
    for (const hash of victims) {
      this.count("evictions");
      this.log.info("model_cache_evicted", { sha256: hash, size: this.blobs.get(hash)?.size, for_sha256: ref.sha256 });
    }
    await Promise.all(victims.map((hash) => this.remove(hash)));
  }

  /** Takes the blob out of the index at once, then deletes its links and, after them, the blob. */
  private remove(hash: string): Promise<void> {
    const blob = this.blobs.get(hash);
    if (!blob) return this.removing.get(hash) ?? Promise.resolve();
    this.blobs.delete(hash);
    const done = (async () => {
      for (const path of blob.links)
        await removeLink(path, hash, this.blobsDir).catch((err: unknown) => this.log.warn("model_cache_unlink_failed", { sha256: hash, error: err }));
      await rm(join(this.blobsDir, hash), { force: true }).catch((err: unknown) => this.log.error("model_cache_delete_failed", { sha256: hash, error: err }));
    })().finally(() => {
      if (this.removing.get(hash) === done) this.removing.delete(hash);
    });
    this.removing.set(hash, done);
    return done;
  }

  private usedBytes(): number {
    let total = 0;
    for (const blob of this.blobs.values()) total += blob.size;
    for (const size of this.reserved.values()) total += size;
    return total;
  }

  /** Marks `hash` used by `holder`; true when it was not already. */
  private hold(hash: string, holder: string): boolean {
    const holders = this.users.get(hash) ?? new Set<string>();
    this.users.set(hash, holders);
    if (holders.has(holder)) return false;
    holders.add(holder);
    return true;
  }

  private unhold(hash: string, holder: string): void {
    const holders = this.users.get(hash);
    holders?.delete(holder);
    if (holders?.size === 0) this.users.delete(hash);
  }

  private count(counter: "hits" | "joins" | "evictions"): void {
    this.counters[counter]++;
    const metric = { hits: this.metrics?.modelCacheHits, joins: this.metrics?.modelCacheJoins, evictions: this.metrics?.modelCacheEvictions }[counter];
    metric?.inc();
  }
}
