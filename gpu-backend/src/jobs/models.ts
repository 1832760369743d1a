/**
 * A job's registered model files (the dispatch's `models`): before the prompt reaches ComfyUI,
 * each is made present at `<models>/<folder>/<name>` through the host's model cache
 * (src/models/cache.ts), which downloads a missing file from the edge under this job's lease,
 * verifies it while it streams and links it in; concurrent jobs share one download. A file the
 * operator installed at that name is used when its size matches (the lock file vouches for it).
 * The job holds its files in the cache until it ends, so none is evicted under it.
 */
import { statSync } from "node:fs";
import type { DispatchRef, JobFailure, ModelRef } from "../../../src/protocol/messages.ts";
import type { EdgeClient } from "../edge/client.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { ModelCache, ModelFetchError, ModelPathError } from "../models/cache.ts";
import { modelLinkPath } from "../models/ref.ts";
import type { Job } from "./job.ts";
import { refKey } from "./job.ts";

export type PreparedModels =
  | { ok: true; fetchMs: number; fetched: number }
  | { ok: false; failure: JobFailure }
  | { ok: false; stale: true }
  | { ok: false; stopped: true };

/** The edge said the lease under which a download was opened is no longer current. */
class StaleLease extends Error {}

/** The cache holder of the pool's pinned files (fetched under no job's lease). */
const PINNED = "pool-pinned";

export class JobModels {
  readonly cache: ModelCache;
  private readonly leases = new Map<string, DispatchRef>();
  private readonly modelsDir: string;
  private readonly log: Logger;

  private readonly onFetched: () => void;

  constructor(opts: {
    cacheDir: string;
    modelsDir: string;
    budgetBytes: number;
    edge: EdgeClient;
    log: Logger;
    metrics?: Metrics;
    /** A file was downloaded ahead of any job (ComfyUI lists it now: the catalog changed). */
    onFetched?: () => void;
  }) {
    this.modelsDir = opts.modelsDir;
    this.log = opts.log;
    this.onFetched = opts.onFetched ?? (() => {});
    this.cache = new ModelCache({
      cacheDir: opts.cacheDir,
      modelsDir: opts.modelsDir,
      budgetBytes: opts.budgetBytes,
      log: opts.log,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      // A download runs under the lease of the job that started it (others joining it share it).
      fetchBlob: async (ref, signal, holder) => {
        if (holder === PINNED) {
          const got = await opts.edge.openPinnedModel({ folder: ref.folder, name: ref.name, sha256: ref.sha256, size: ref.size }, { signal });
          if (got.ok) return got.value;
          throw new Error(got.reason === "rejected" || got.reason === "unavailable" ? `the edge: ${got.detail}` : got.reason);
        }
        const lease = this.leases.get(holder);
        if (!lease) throw new Error(`no lease for ${holder}`);
        const got = await opts.edge.openModel(lease, { folder: ref.folder, name: ref.name, sha256: ref.sha256, size: ref.size }, { signal });
        if (got.ok) return got.value;
        if (got.reason === "stale") throw new StaleLease("the job's lease moved on");
        throw new Error(got.reason === "rejected" || got.reason === "unavailable" ? `the edge: ${got.detail}` : "aborted");
      },
    });
  }

  init(): Promise<void> {
    return this.cache.init();
  }

  /**
   * The pool's pinned files (from each heartbeat reply): never evicted, and fetched ahead of any
   * job, one at a time in the background. A later list replaces the earlier one.
   */
  pinned(refs: readonly ModelRef[]): void {
    this.wantPinned = refs;
    this.cache.pin(refs.map((r) => r.sha256));
    if (!this.prefetching) this.prefetching = this.prefetch().finally(() => (this.prefetching = undefined));
  }

  private wantPinned: readonly ModelRef[] = [];
  private prefetching: Promise<void> | undefined;
  private readonly failedPinned = new Map<string, number>();

  private async prefetch(): Promise<void> {
    for (;;) {
      const linked = new Set(this.cache.entries().flatMap((e) => e.links.map((l) => `${e.sha256} ${l}`)));
      const now = Date.now();
      // A file that failed is tried again after a minute, not on every heartbeat.
      const next = this.wantPinned.find((r) => !linked.has(`${r.sha256} ${r.folder}/${r.name}`) && now - (this.failedPinned.get(r.sha256) ?? 0) > 60_000);
      if (!next) return;
      try {
        const r = await this.cache.ensure(next, PINNED);
        // Pinning keeps it; holding it too would keep it after the pool unpins it.
        this.cache.release(PINNED);
        this.log.info("pinned_model_ready", { model: `${next.folder}/${next.name}`, outcome: r.outcome, fetch_ms: r.fetch_ms });
        if (r.outcome === "fetched") this.onFetched();
      } catch (err) {
        this.cache.release(PINNED);
        this.failedPinned.set(next.sha256, now);
        this.log.warn("pinned_model_failed", { model: `${next.folder}/${next.name}`, message: (err as Error).message });
      }
    }
  }

  async prepare(job: Job): Promise<PreparedModels> {
    const models = job.request.models;
    if (models.length === 0) return { ok: true, fetchMs: 0, fetched: 0 };
    const holder = refKey(job.ref);
    this.leases.set(holder, job.ref);
    let fetchMs = 0;
    let fetched = 0;
    for (const model of models) {
      // A download this job joined may have been opened under another job's lease, which the edge
      // found stale: then this job tries under its own, once, before it believes it is stale too.
      for (let tries = 1; ; tries++) {
        if (job.stop) return { ok: false, stopped: true };
        try {
          const r = await this.cache.ensure(model, holder);
          fetchMs += r.fetch_ms;
          if (r.outcome === "fetched") fetched++;
          break;
        } catch (err) {
          const outcome = this.failure(model, err);
          if (outcome && "stale" in outcome && tries < 2) continue;
          if (outcome) return outcome;
          break;
        }
      }
    }
    return { ok: true, fetchMs, fetched };
  }

  /** The job ended: its files may be evicted again. */
  release(job: Job): void {
    const holder = refKey(job.ref);
    this.cache.release(holder);
    this.leases.delete(holder);
  }

  /** What a failed ensure means for the job; undefined when the file is usable after all. */
  private failure(model: ModelRef, err: unknown): PreparedModels | undefined {
    const what = `${model.folder}/${model.name}`;
    if (err instanceof ModelPathError && err.kind === "occupied") {
      const size = installedSize(modelLinkPath(this.modelsDir, model));
      if (size === model.size) {
        this.log.info("model_preinstalled", { model: what, sha256: model.sha256 });
        return undefined;
      }
      return unavailable(what, `a different file with this name is installed on the host (${size ?? "?"} bytes, not ${model.size})`, "occupied");
    }
    if (err instanceof ModelFetchError && err.cause instanceof StaleLease) return { ok: false, stale: true };
    if (err instanceof ModelFetchError) return unavailable(what, err.message, err.kind);
    if (err instanceof ModelPathError) return unavailable(what, err.message, err.kind);
    return unavailable(what, (err as Error).message, "internal");
  }
}

function unavailable(what: string, why: string, kind: string): PreparedModels {
  return { ok: false, failure: { code: "model_unavailable", message: `model ${what}: ${why}`, details: { model: what, kind } } };
}

function installedSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
