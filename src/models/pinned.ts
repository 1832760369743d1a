/**
 * A pool's pinned model files (`pinned_models`, registry ids): every host of the pool keeps them,
 * fetched ahead of any job and never evicted. Heartbeat replies carry their refs (only the ready
 * ones); a host downloads them with a host-level signed GET (edgePaths.pinnedModel), which serves
 * exactly these files to the hosts of that pool.
 */
import { SHARED_MODELS } from "../blobs/keys.ts";
import type { Db } from "../db/client.ts";
import { modelsByIds, readyRefsOf } from "../db/models.ts";
import { getPool } from "../db/pools.ts";
import { ProblemError } from "../http/problem.ts";
import type { ModelRef } from "../protocol/messages.ts";

/** Refs per pool, per isolate, for a short while: heartbeats come every few seconds from every host. */
const cache = new Map<string, { at: number; refs: ModelRef[] }>();
const CACHE_MS = 5_000;

export async function pinnedRefs(db: Db, pool: string, now = Date.now()): Promise<ModelRef[]> {
  const hit = cache.get(pool);
  if (hit && now - hit.at < CACHE_MS) return hit.refs;
  const row = await getPool(db, pool);
  const ids = row?.pinnedModels ?? [];
  const refs = ids.length === 0 ? [] : await readyRefsOf(db, SHARED_MODELS, ids);
  cache.set(pool, { at: now, refs });
  if (cache.size > 256) cache.delete(cache.keys().next().value!);
  return refs;
}

/** A pool's pinned ids must be models of the operators' registry; 422 naming the ones that are not. */
export async function checkPinned(db: Db, ids: readonly string[] | undefined): Promise<void> {
  if (!ids || ids.length === 0) return;
  const known = new Set((await modelsByIds(db, SHARED_MODELS, ids)).map((m) => m.id));
  const errors = ids.flatMap((id, i) => (known.has(id) ? [] : [{ pointer: `/pinned_models/${i}`, detail: `${id} is not a model of /v1/admin/models` }]));
  if (errors.length > 0) throw new ProblemError("validation-failed", `${errors[0]!.detail}; register it first.`, { extensions: { errors } });
}
