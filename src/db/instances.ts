/** The autoscaler's instances (gpu_instances): its working set per pool and the billing record. */
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "./client.ts";
import { type GpuInstanceRow, gpuInstances } from "./schema.ts";

export async function insertInstance(db: Db, row: GpuInstanceRow): Promise<void> {
  await db.insert(gpuInstances).values(row);
}

/** The pool's instances not terminated yet, oldest first. */
export async function liveInstances(db: Db, pool: string): Promise<GpuInstanceRow[]> {
  return db
    .select()
    .from(gpuInstances)
    .where(and(eq(gpuInstances.pool, pool), isNull(gpuInstances.terminatedAt)))
    .orderBy(gpuInstances.launchedAt)
    .all();
}

/** The pool's instances, newest first (live and ended), for the admin view. */
export async function recentInstances(db: Db, pool: string, limit: number): Promise<GpuInstanceRow[]> {
  return db.select().from(gpuInstances).where(eq(gpuInstances.pool, pool)).orderBy(desc(gpuInstances.launchedAt)).limit(limit).all();
}

/** The instances, live or ended, of these hosts (reconciliation: a provider's instance nobody here knows is an orphan). */
export async function instancesOfHosts(db: Db, hostIds: string[]): Promise<GpuInstanceRow[]> {
  if (hostIds.length === 0) return [];
  const out: GpuInstanceRow[] = [];
  // D1 binds at most 100 parameters a statement.
  for (let i = 0; i < hostIds.length; i += 100)
    out.push(
      ...(await db
        .select()
        .from(gpuInstances)
        .where(inArray(gpuInstances.hostId, hostIds.slice(i, i + 100)))
        .all()),
    );
  return out;
}

export async function updateInstance(db: Db, id: string, patch: Partial<Omit<GpuInstanceRow, "id">>): Promise<void> {
  await db.update(gpuInstances).set(patch).where(eq(gpuInstances.id, id));
}
