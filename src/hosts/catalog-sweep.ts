/**
 * Host catalogs are stored in R2 by hash (`catalogs/<hash>.json`) and shared by every host and
 * pool that publishes the same one. Once no pool's Dispatcher refers to a hash any more (its hosts
 * changed or were removed), the cron deletes the object. Objects younger than the grace are kept:
 * a host's publish stores the object before its Dispatcher records the hash.
 */
import { catalogHashesInUseOf } from "../dispatch/route.ts";
import type { Env } from "../env.ts";
import type { PoolShards } from "../pools/pools.ts";

export const CATALOG_SWEEP_GRACE_MS = 60 * 60_000;
/** Objects listed per run: the sweep is bounded, and the next run goes on. */
const LIST_LIMIT = 500;

export async function sweepCatalogs(env: Env, pools: readonly PoolShards[], now = Date.now()): Promise<{ deleted: number }> {
  // Every shard: a hash only a shard k > 0 refers to is still in use.
  const inUse = new Set((await Promise.all(pools.map((p) => catalogHashesInUseOf(env, p)))).flat());
  const listed = await env.BLOBS.list({ prefix: "catalogs/", limit: LIST_LIMIT });
  const stale = listed.objects
    .filter((o) => !inUse.has(o.key.slice("catalogs/".length, -".json".length)) && now - o.uploaded.getTime() > CATALOG_SWEEP_GRACE_MS)
    .map((o) => o.key);
  if (stale.length > 0) await env.BLOBS.delete(stale);
  return { deleted: stale.length };
}
