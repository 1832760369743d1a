/** Queries on API keys. Only hashes of secrets are ever read or written here. */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "./client.ts";
import { apiKeys, tenants } from "./schema.ts";

export async function insertApiKey(db: Db, row: typeof apiKeys.$inferInsert): Promise<void> {
  await db.insert(apiKeys).values(row);
}

/** The key and its tenant's limits in one round trip: every authenticated request pays for this. */
export async function findApiKey(db: Db, id: string) {
  return db
    .select({
      key: apiKeys,
      tenantId: tenants.id,
      maxActiveJobsPerUser: tenants.maxActiveJobsPerUser,
      maxActiveJobsPerTenant: tenants.maxActiveJobsPerTenant,
      requestsPerMinute: tenants.requestsPerMinute,
      uploadsPerDay: tenants.uploadsPerDay,
      uploadBytesPerDay: tenants.uploadBytesPerDay,
      modelFiles: tenants.modelFiles,
      modelBytes: tenants.modelBytes,
      gpuSecondsPerMonth: tenants.gpuSecondsPerMonth,
      retentionDays: tenants.retentionDays,
      storageBytes: tenants.storageBytes,
      deletedAt: tenants.deletedAt,
      defaultPool: tenants.defaultPool,
      allowedPools: tenants.allowedPools,
    })
    .from(apiKeys)
    .innerJoin(tenants, eq(apiKeys.tenantId, tenants.id))
    .where(eq(apiKeys.id, id))
    .get();
}

/** Revokes once; revoking again returns the same row with its original `revoked_at`. */
export async function revokeApiKey(db: Db, id: string, now: number) {
  const updated = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning()
    .get();
  return updated ?? (await db.select().from(apiKeys).where(eq(apiKeys.id, id)).get());
}

export async function listApiKeys(db: Db, tenantId: string) {
  return db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId)).orderBy(desc(apiKeys.createdAt)).all();
}
