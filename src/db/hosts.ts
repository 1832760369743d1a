/** Queries on registered GPU hosts. */
import { count, eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { type GpuHostRow, gpuHosts } from "./schema.ts";

export async function insertHost(db: Db, row: GpuHostRow): Promise<void> {
  await db.insert(gpuHosts).values(row);
}

export async function getHost(db: Db, id: string): Promise<GpuHostRow | undefined> {
  return db.select().from(gpuHosts).where(eq(gpuHosts.id, id)).get();
}

export async function listHosts(db: Db): Promise<GpuHostRow[]> {
  return db.select().from(gpuHosts).orderBy(gpuHosts.id).all();
}

export async function updateHost(db: Db, id: string, patch: Partial<Omit<GpuHostRow, "id">>): Promise<GpuHostRow | undefined> {
  return db.update(gpuHosts).set(patch).where(eq(gpuHosts.id, id)).returning().get();
}

export async function deleteHost(db: Db, id: string): Promise<boolean> {
  return (await db.delete(gpuHosts).where(eq(gpuHosts.id, id)).returning({ id: gpuHosts.id }).get()) !== undefined;
}

/** How many hosts each Dispatcher shard of the pool has (shards without one are absent). */
export async function hostsPerShard(db: Db, pool: string): Promise<Map<number, number>> {
  const rows = await db
    .select({ shard: gpuHosts.dispatcherShard, n: count() })
    .from(gpuHosts)
    .where(eq(gpuHosts.pool, pool))
    .groupBy(gpuHosts.dispatcherShard)
    .all();
  return new Map(rows.map((r) => [r.shard, r.n]));
}
