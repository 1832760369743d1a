/**
 * A pool's Dispatcher shards (docs/scale.md, "Past one Durable Object"): names, and which shard a
 * tenant's jobs and a host belong to. Pure functions; the routes and the Dispatcher use them.
 *
 * Shard 0 keeps the plain pool name, so a pool that never had shards is shard 0 of one, with its
 * object and state as they were. Shard k > 0 is `${pool}#${k}` ('#' is not allowed in pool names).
 */
import { POOL_NAME_RE } from "../pools/name.ts";

/** The most shards a pool may have: each is one Durable Object, and pool-wide reads ask them all. */
export const MAX_DISPATCHER_SHARDS = 16;

export function shardName(pool: string, shard: number): string {
  return shard === 0 ? pool : `${pool}#${shard}`;
}

/** The pool and shard an object was addressed by; undefined for a name no shard has. */
export function parseShardName(name: string): { pool: string; shard: number } | undefined {
  const at = name.indexOf("#");
  const pool = at < 0 ? name : name.slice(0, at);
  if (!POOL_NAME_RE.test(pool)) return undefined;
  if (at < 0) return { pool, shard: 0 };
  const digits = name.slice(at + 1);
  if (!/^[1-9][0-9]?$/.test(digits)) return undefined;
  const shard = Number(digits);
  return shard < MAX_DISPATCHER_SHARDS ? { pool, shard } : undefined;
}

/** 32-bit FNV-1a with a murmur3 finalizer: cheap, synchronous and well mixed for short ids. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The shard a tenant's jobs go to (rendezvous hashing): stable for a given count, and when the
 * count grows from S to S + 1 only about 1/(S + 1) of the tenants move. A tenant's whole line
 * lives in one shard, which keeps FIFO within a tenant exact.
 */
export function tenantShard(tenantId: string, shards: number): number {
  let best = 0;
  let bestScore = -1;
  for (let k = 0; k < Math.max(1, shards); k++) {
    const score = hash32(`${tenantId}#${k}`);
    if (score > bestScore) {
      best = k;
      bestScore = score;
    }
  }
  return best;
}

/**
 * The shard a new host joins: the one with the fewest registered hosts (ties: the lowest index),
 * so every shard has GPUs for its own tenants. Two registrations at once may pick the same one;
 * stealing (docs/scale.md) keeps that from stranding work, and the next registration evens it out.
 */
export function leastHosted(hostsPerShard: ReadonlyMap<number, number>, shards: number): number {
  let best = 0;
  for (let k = 1; k < shards; k++) if ((hostsPerShard.get(k) ?? 0) < (hostsPerShard.get(best) ?? 0)) best = k;
  return best;
}
