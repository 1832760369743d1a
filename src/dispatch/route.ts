/**
 * Which Dispatcher object a call goes to (docs/scale.md, "Past one Durable Object"), so every call
 * site stays one line. A job's calls go to the shard D1 says holds it (`jobs.dispatcher_shard`), a
 * host's to its own shard (`gpu_hosts.dispatcher_shard`), and a pool-wide read asks shards 0…S−1 and
 * merges what they say (merge.ts). S comes from the pool row the caller has already read: nothing here reads D1.
 *
 * With one shard every function here addresses the plain pool name, exactly as before shards.
 */
import type { GpuHostRow, JobRow } from "../db/schema.ts";
import type { Env } from "../env.ts";
import type { PoolShards } from "../pools/pools.ts";
import { mergeCatalogs, mergeStatus } from "./merge.ts";
import type { JobNeeds } from "./placement.ts";
import { MAX_DISPATCHER_SHARDS, shardName } from "./shards.ts";
import type { PoolCatalog, PoolStatus } from "./types.ts";

export type DispatcherStub = ReturnType<Env["DISPATCHER"]["getByName"]>;

export function dispatcherOf(env: Env, pool: string, shard: number): DispatcherStub {
  return env.DISPATCHER.getByName(shardName(pool, shard));
}

/** The shard holding the job now (its tenant's, or the one whose host stole it). */
export function dispatcherOfJob(env: Env, job: Pick<JobRow, "pool" | "dispatcherShard">): DispatcherStub {
  return dispatcherOf(env, job.pool, job.dispatcherShard);
}

/** The host's own shard: the only Dispatcher it ever talks to. */
export function dispatcherOfHost(env: Env, host: Pick<GpuHostRow, "pool" | "dispatcherShard">): DispatcherStub {
  return dispatcherOf(env, host.pool, host.dispatcherShard);
}

/** Shards 0…S−1 of the pool (S clamped to 1…MAX_DISPATCHER_SHARDS, whatever a row says). */
export function shardsOf(env: Env, pool: PoolShards): DispatcherStub[] {
  const count = Math.min(MAX_DISPATCHER_SHARDS, Math.max(1, Math.trunc(pool.dispatcher_shards)));
  return Array.from({ length: count }, (_, k) => dispatcherOf(env, pool.name, k));
}

// ===== Pool-wide reads: every shard, merged

export async function poolStatusOf(env: Env, pool: PoolShards): Promise<PoolStatus> {
  return mergeStatus(await Promise.all(shardsOf(env, pool).map((d) => d.status())));
}

export async function poolCatalogOf(env: Env, pool: PoolShards): Promise<PoolCatalog> {
  return mergeCatalogs(await Promise.all(shardsOf(env, pool).map((d) => d.poolCatalog())));
}

export async function liveCatalogsOf(env: Env, pool: PoolShards): Promise<PoolCatalog["hosts"]> {
  return (await Promise.all(shardsOf(env, pool).map((d) => d.liveCatalogs()))).flat();
}

export async function catalogHashesInUseOf(env: Env, pool: PoolShards): Promise<string[]> {
  return [...new Set((await Promise.all(shardsOf(env, pool).map((d) => d.catalogHashesInUse()))).flat())];
}

export async function keepTickingAll(env: Env, pool: PoolShards): Promise<void> {
  // Each shard is told the count too: stealing needs it, and this repairs a lost poolSettingsChanged.
  await Promise.all(shardsOf(env, pool).map((d) => d.keepTicking(pool.dispatcher_shards)));
}

export async function poolSettingsChangedAll(env: Env, pool: PoolShards): Promise<void> {
  await Promise.all(shardsOf(env, pool).map((d) => d.poolSettingsChanged(pool.dispatcher_shards)));
}

/**
 * When a job with these needs would likely start if submitted by `tenantShard`'s tenant: that
 * shard's estimate, since the queue ahead of it (and its fairness) is that shard's; the other
 * shards lend only what they cannot run themselves, so their own queues come first there. Only
 * when its shard has no live host that can run it (null) is it the soonest other shard's, since
 * stealing is then the way it starts.
 */
export async function estimateStartOf(env: Env, pool: PoolShards, tenantShard: number, needs: JobNeeds): Promise<number | null> {
  const shards = shardsOf(env, pool);
  const own = await (shards[tenantShard] ?? shards[0]!).estimateStart(needs);
  if (own !== null || shards.length === 1) return own;
  const others = await Promise.all(shards.filter((_, k) => k !== tenantShard).map((d) => d.estimateStart(needs)));
  const known = others.filter((s): s is number => s !== null);
  return known.length === 0 ? null : Math.min(...known);
}
