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

export class JobModels {
  readonly cache: ModelCache;
  private readonly leases = new Map<string, DispatchRef>();
  private readonly modelsDir: string;
  private readonly log: Logger;

  constructor(opts: { cacheDir: string; modelsDir: string; budgetBytes: number; edge: EdgeClient; log: Logger; metrics?: Metrics }) {
    this.modelsDir = opts.modelsDir;
    this.log = opts.log;
    this.cache = new ModelCache({
      cacheDir: opts.cacheDir,
      modelsDir: opts.modelsDir,
      budgetBytes: opts.budgetBytes,
      log: opts.log,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      // A download runs under the lease of the job that started it (others joining it share it).
      fetchBlob: async (ref, signal, holder) => {
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
