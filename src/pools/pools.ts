/**
 * Which pools exist, and the pool a job runs in.
 *
 * The config's DEFAULT_POOL always exists, with or without a row in `pools`: it is a deployment
 * setting (a migration cannot know its value, and changing it must not need an operator to create
 * anything), so the code treats it as present and a row only adds its description, GPU, queue
 * timeout and model-file policy (`PATCH /v1/admin/pools/{DEFAULT_POOL}` writes that row). Every other pool is a row,
 * created with `POST /v1/admin/pools`. Pools are never deleted.
 */
import type { Autoscaling } from "../capacity/settings.ts";
import type { Config } from "../config/schema.ts";
import type { Db } from "../db/client.ts";
import { getPool, getPools, hostPoolNames, listPoolRows } from "../db/pools.ts";
import type { PoolRow } from "../db/schema.ts";
import { ProblemError } from "../http/problem.ts";
import type { ModelFilesPolicy } from "./model-files.ts";

/** A pool as the code uses it: its row, or DEFAULT_POOL's implicit one. */
export interface Pool {
  name: string;
  description: string | null;
  gpu: { model: string; vram_gb: number } | null;
  queue_timeout_seconds: number | null;
  model_files: ModelFilesPolicy;
  pinned_models: string[];
  /** Hosts forward sampler previews of running jobs (issue 15). */
  previews: boolean;
  /** How its hosts are launched and scaled (null: registered by hand; issue 18). */
  autoscaling: Autoscaling | null;
  /** USD per GPU-second, for the usage reports (null: not priced). */
  price_per_gpu_second: number | null;
  /** Dispatcher objects its queue and hosts are spread over (src/dispatch/shards.ts); only grows. */
  dispatcher_shards: number;
  created_at: number | null;
  updated_at: number | null;
}

export function poolOf(row: PoolRow): Pool {
  return {
    name: row.name,
    description: row.description,
    gpu: row.gpuModel !== null && row.gpuVramGb !== null ? { model: row.gpuModel, vram_gb: row.gpuVramGb } : null,
    queue_timeout_seconds: row.queueTimeoutSeconds,
    model_files: row.modelFiles ?? "required",
    pinned_models: row.pinnedModels ?? [],
    previews: row.previews ?? true,
    autoscaling: row.autoscaling ?? null,
    price_per_gpu_second: row.pricePerGpuSecond ?? null,
    dispatcher_shards: row.dispatcherShards ?? 1,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function implicitPool(name: string): Pool {
  return {
    name,
    description: null,
    gpu: null,
    queue_timeout_seconds: null,
    model_files: "required",
    pinned_models: [],
    previews: true,
    autoscaling: null,
    price_per_gpu_second: null,
    dispatcher_shards: 1,
    created_at: null,
    updated_at: null,
  };
}

/** The pool, or undefined when there is none by that name. */
export async function findPool(db: Db, config: Config, name: string): Promise<Pool | undefined> {
  const row = await getPool(db, name);
  if (row) return poolOf(row);
  return name === config.DEFAULT_POOL ? implicitPool(name) : undefined;
}

/** Every pool an operator created, plus DEFAULT_POOL; by name. */
export async function listPools(db: Db, config: Config): Promise<Pool[]> {
  const rows = (await listPoolRows(db)).map(poolOf);
  if (!rows.some((p) => p.name === config.DEFAULT_POOL)) rows.push(implicitPool(config.DEFAULT_POOL));
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The names of every pool with a Dispatcher worth keeping alive: DEFAULT_POOL, every created pool,
 * and any pool a host is registered in. Cron, /health and the admin views cover these.
 */
export async function allPoolNames(db: Db, defaultPool: string): Promise<string[]> {
  const [rows, hostPools] = await Promise.all([listPoolRows(db), hostPoolNames(db)]);
  return [...new Set([defaultPool, ...rows.map((r) => r.name), ...hostPools])].sort();
}

/** A pool's name and how many Dispatcher shards it has: what a pool-wide read asks (src/dispatch/route.ts). */
export interface PoolShards {
  name: string;
  dispatcher_shards: number;
}

/** allPoolNames() with each pool's shard count (a pool without a row has one). */
export async function allPoolShards(db: Db, defaultPool: string): Promise<PoolShards[]> {
  const [rows, hostPools] = await Promise.all([listPoolRows(db), hostPoolNames(db)]);
  const shards = new Map(rows.map((r) => [r.name, r.dispatcherShards ?? 1]));
  return [...new Set([defaultPool, ...rows.map((r) => r.name), ...hostPools])].sort().map((name) => ({ name, dispatcher_shards: shards.get(name) ?? 1 }));
}

/** Names among `names` that are no pool (for validating a tenant's pools), in the order given. */
export async function unknownPools(db: Db, config: Config, names: string[]): Promise<string[]> {
  const known = new Set((await getPools(db, names)).map((r) => r.name));
  known.add(config.DEFAULT_POOL);
  return names.filter((n) => !known.has(n));
}

/** A tenant's pool settings, as read with its credential. */
export interface TenantPools {
  defaultPool: string | null;
  allowedPools: string[] | null;
}

/**
 * The pool a submit runs in: `requested ?? tenant default ?? DEFAULT_POOL`. A pool outside the
 * tenant's allowed_pools is `pool-not-allowed` (checked first, so a restricted tenant learns
 * nothing about pools it may not use); a name that is no pool is `unknown-pool`.
 */
export async function resolveSubmitPool(db: Db, config: Config, tenant: TenantPools, requested: string | undefined): Promise<Pool> {
  const name = requested ?? tenant.defaultPool ?? config.DEFAULT_POOL;
  const pointer = requested !== undefined ? [{ pointer: "/pool", detail: "" }] : [];
  if (tenant.allowedPools !== null && !tenant.allowedPools.includes(name)) {
    const detail = `This tenant may not run jobs in pool "${name}"; its allowed pools are ${tenant.allowedPools.map((p) => `"${p}"`).join(", ") || "none"}.`;
    throw new ProblemError("pool-not-allowed", detail, {
      extensions: { pool: name, allowed_pools: tenant.allowedPools, errors: pointer.map((e) => ({ ...e, detail: "not an allowed pool" })) },
    });
  }
  const pool = await findPool(db, config, name);
  if (!pool) {
    throw new ProblemError(
      "unknown-pool",
      `There is no GPU pool "${name}"; ${requested !== undefined ? "omit `pool` or name an existing one" : "the tenant's default_pool names no pool; an operator must fix it"}.`,
      {
        extensions: { pool: name, errors: pointer.map((e) => ({ ...e, detail: "no such pool" })) },
      },
    );
  }
  return pool;
}
