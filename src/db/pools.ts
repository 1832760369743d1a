/** Queries on GPU pools (the `pools` table; DEFAULT_POOL may have no row, see src/pools/pools.ts). */
import { and, eq, inArray, lte } from "drizzle-orm";
import type { Db } from "./client.ts";
import { gpuHosts, type PoolRow, pools } from "./schema.ts";

export type PoolPatch = Partial<Omit<PoolRow, "name" | "createdAt">>;

export async function insertPool(db: Db, row: PoolRow): Promise<void> {
  await db.insert(pools).values(row);
}

export async function getPool(db: Db, name: string): Promise<PoolRow | undefined> {
  return db.select().from(pools).where(eq(pools.name, name)).get();
}

export async function getPools(db: Db, names: string[]): Promise<PoolRow[]> {
  if (names.length === 0) return [];
  return db.select().from(pools).where(inArray(pools.name, names)).all();
}

export async function listPoolRows(db: Db): Promise<PoolRow[]> {
  return db.select().from(pools).orderBy(pools.name).all();
}

/** With `shardsAtMost`: only while the pool's dispatcher_shards is not above it (the count never goes down). */
export async function updatePool(db: Db, name: string, patch: PoolPatch, shardsAtMost?: number): Promise<PoolRow | undefined> {
  const where = shardsAtMost === undefined ? eq(pools.name, name) : and(eq(pools.name, name), lte(pools.dispatcherShards, shardsAtMost));
  return db.update(pools).set(patch).where(where).returning().get();
}

/** The pools hosts are registered in (a host registered before pools had rows may name one without a row). */
export async function hostPoolNames(db: Db): Promise<string[]> {
  return (await db.selectDistinct({ pool: gpuHosts.pool }).from(gpuHosts).all()).map((r) => r.pool);
}
