/**
 * D1 reads and deletes of the data lifecycle (src/retention/): which jobs and uploads are due to
 * go, and removing their rows. Deleting a job's row removes its workflow, inputs, outputs and
 * webhook log by cascade; tenant_storage follows by trigger (migrations/0015_lifecycle.sql).
 */
import { and, asc, eq, gt, inArray, isNotNull, lt, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./client.ts";
import {
  apiKeys,
  gpuInstances,
  hostBootstrapTokens,
  jobInputs,
  jobOutputs,
  jobs,
  modelBlobs,
  models,
  tenantStorage,
  tenants,
  uploads,
  webhookSecrets,
} from "./schema.ts";

/** D1 binds at most 100 parameters per statement. */
export const ID_CHUNK = 90;

export const chunks = <T>(items: T[], size = ID_CHUNK): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** A job to erase: enough to find its R2 objects and the Durable Objects that hold its state. */
export interface JobRef {
  id: string;
  tenantId: string;
  hasWebhook: boolean;
}

const jobRef = { id: jobs.id, tenantId: jobs.tenantId, webhookUrl: jobs.webhookUrl };
const toRef = (r: { id: string; tenantId: string; webhookUrl: string | null }): JobRef => ({
  id: r.id,
  tenantId: r.tenantId,
  hasWebhook: r.webhookUrl !== null,
});
/**
 * Ended jobs, written as the literal predicate of jobs_tenant_ended_idx: SQLite uses a partial index
 * only when the query's WHERE implies the index's, which a bound parameter list does not.
 */
const ended = sql`${jobs.status} IN ('succeeded', 'failed', 'cancelled')`;

/** A tenant's jobs that ended before `cutoff`, oldest first (jobs_tenant_ended_idx). */
export function endedBeforeQuery(db: Db, tenantId: string, cutoff: number, limit: number) {
  return db
    .select(jobRef)
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), ended, lt(jobs.finishedAt, cutoff)))
    .orderBy(asc(jobs.finishedAt))
    .limit(limit);
}

export async function endedBefore(db: Db, tenantId: string, cutoff: number, limit: number): Promise<JobRef[]> {
  return (await endedBeforeQuery(db, tenantId, cutoff, limit).all()).map(toRef);
}

/** Ended jobs of one end-user (or, without `userId`, of the whole tenant). */
export function endedJobsQuery(db: Db, tenantId: string, userId: string | null, limit: number) {
  return db
    .select(jobRef)
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), userId === null ? undefined : eq(jobs.userId, userId), ended))
    .limit(limit);
}

export async function endedJobsOf(db: Db, tenantId: string, userId: string | null, limit: number): Promise<JobRef[]> {
  return (await endedJobsQuery(db, tenantId, userId, limit).all()).map(toRef);
}

/** Queued or running jobs of one end-user (or of the whole tenant). */
export function liveJobsQuery(db: Db, tenantId: string, userId: string | null, limit: number) {
  return db
    .select({ id: jobs.id, userId: jobs.userId })
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), userId === null ? undefined : eq(jobs.userId, userId), sql`${jobs.status} IN ('queued', 'running')`))
    .limit(limit);
}

export async function liveJobsOf(db: Db, tenantId: string, userId: string | null, limit: number): Promise<{ id: string; userId: string }[]> {
  return liveJobsQuery(db, tenantId, userId, limit).all();
}

export interface StoredFile {
  jobId: string;
  r2Key: string;
  size: number;
}

/** Input and output rows of these jobs (what a caller is told was removed). */
export async function filesOf(db: Db, jobIds: string[]): Promise<{ inputs: StoredFile[]; outputs: StoredFile[] }> {
  const inputs: StoredFile[] = [];
  const outputs: StoredFile[] = [];
  for (const ids of chunks(jobIds)) {
    const [ins, outs] = await Promise.all([
      db.select({ jobId: jobInputs.jobId, r2Key: jobInputs.r2Key, size: jobInputs.size }).from(jobInputs).where(inArray(jobInputs.jobId, ids)).all(),
      db.select({ jobId: jobOutputs.jobId, r2Key: jobOutputs.r2Key, size: jobOutputs.size }).from(jobOutputs).where(inArray(jobOutputs.jobId, ids)).all(),
    ]);
    inputs.push(...ins);
    outputs.push(...outs);
  }
  return { inputs, outputs };
}

/**
 * Of these upload keys, the ones still needed: an upload row holds them (not yet expired or
 * erased; unless `uploadRows` is excepted) or a job other than `jobs` takes them as an input.
 */
export async function uploadKeysInUse(db: Db, keys: string[], except: { jobs?: string[]; uploadRows?: boolean }): Promise<Set<string>> {
  const used = new Set<string>();
  const exceptJobs = new Set(except.jobs ?? []);
  for (const part of chunks(keys)) {
    const [byUpload, byJob] = await Promise.all([
      except.uploadRows ? [] : db.select({ key: uploads.r2Key }).from(uploads).where(inArray(uploads.r2Key, part)).all(),
      db.select({ key: jobInputs.r2Key, jobId: jobInputs.jobId }).from(jobInputs).where(inArray(jobInputs.r2Key, part)).all(),
    ]);
    for (const r of byUpload) used.add(r.key);
    for (const r of byJob) if (!exceptJobs.has(r.jobId)) used.add(r.key);
  }
  return used;
}

/** Removes the jobs' rows (and by cascade everything hanging off them) in one atomic batch. */
export async function deleteJobRows(db: Db, ids: string[]): Promise<void> {
  const statements: BatchItem<"sqlite">[] = chunks(ids).map((part) => db.delete(jobs).where(inArray(jobs.id, part)));
  if (statements.length > 0) await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
}

export interface UploadRef {
  id: string;
  r2Key: string;
  size: number;
}

const uploadRef = { id: uploads.id, r2Key: uploads.r2Key, size: uploads.size };

/** Uploads past their expiry (uploads_expires_idx), oldest first. */
export async function expiredUploads(db: Db, now: number, limit: number): Promise<UploadRef[]> {
  return db.select(uploadRef).from(uploads).where(lt(uploads.expiresAt, now)).orderBy(asc(uploads.expiresAt)).limit(limit).all();
}

/** One end-user's uploads (or, without `userId`, the tenant's). */
export async function uploadsOf(db: Db, tenantId: string, userId: string | null, limit: number): Promise<UploadRef[]> {
  return db
    .select(uploadRef)
    .from(uploads)
    .where(and(eq(uploads.tenantId, tenantId), userId === null ? undefined : eq(uploads.userId, userId)))
    .limit(limit)
    .all();
}

export async function deleteUploadRows(db: Db, ids: string[]): Promise<void> {
  const statements: BatchItem<"sqlite">[] = chunks(ids).map((part) => db.delete(uploads).where(inArray(uploads.id, part)));
  if (statements.length > 0) await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
}

/** The next tenant after `after` in id order, with what the sweep needs of it. */
export async function nextTenant(db: Db, after: string): Promise<{ id: string; retentionDays: number | null; deletedAt: number | null } | undefined> {
  return db
    .select({ id: tenants.id, retentionDays: tenants.retentionDays, deletedAt: tenants.deletedAt })
    .from(tenants)
    .where(gt(tenants.id, after))
    .orderBy(asc(tenants.id))
    .limit(1)
    .get();
}

/** The next tenant after `after` (id order) whose deletion has begun and is not finished. */
export async function tenantBeingDeleted(db: Db, after: string): Promise<{ id: string; deletedAt: number } | undefined> {
  const row = await db
    .select({ id: tenants.id, deletedAt: tenants.deletedAt })
    .from(tenants)
    .where(and(isNotNull(tenants.deletedAt), gt(tenants.id, after)))
    .orderBy(asc(tenants.id))
    .limit(1)
    .get();
  return row && row.deletedAt !== null ? { id: row.id, deletedAt: row.deletedAt } : undefined;
}

/** Bytes the tenant holds that count against its storage quota. */
export async function storageUsed(db: Db, tenantId: string): Promise<number> {
  const row = await db.select({ bytes: tenantStorage.bytes }).from(tenantStorage).where(eq(tenantStorage.tenantId, tenantId)).get();
  return Math.max(0, row?.bytes ?? 0);
}

/**
 * Marks the tenant deleted and revokes everything that lets it in, atomically: API keys revoked,
 * webhook secrets retired. False if there is no such tenant. Idempotent.
 */
export async function beginTenantDeletion(db: Db, tenantId: string, now: number): Promise<{ deletedAt: number } | undefined> {
  const [marked] = await db.batch([
    db
      .update(tenants)
      .set({ deletedAt: sql`COALESCE(${tenants.deletedAt}, ${now})`, updatedAt: now })
      .where(eq(tenants.id, tenantId))
      .returning({ deletedAt: tenants.deletedAt }),
    db
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.tenantId, tenantId), sql`${apiKeys.revokedAt} IS NULL`)),
    db
      .update(webhookSecrets)
      .set({ retiredAt: now })
      .where(and(eq(webhookSecrets.tenantId, tenantId), sql`${webhookSecrets.retiredAt} IS NULL`)),
  ]);
  const row = marked[0];
  return row?.deletedAt != null ? { deletedAt: row.deletedAt } : undefined;
}

/** The tenant's private model files: blobs (with any multipart upload still open) and names. */
export async function modelBlobsOf(db: Db, scope: string, limit: number): Promise<{ sha256: string; size: number; state: string; uploadId: string | null }[]> {
  return db
    .select({ sha256: modelBlobs.sha256, size: modelBlobs.size, state: modelBlobs.state, uploadId: modelBlobs.uploadId })
    .from(modelBlobs)
    .where(eq(modelBlobs.scope, scope))
    .limit(limit)
    .all();
}

export async function deleteModelRows(db: Db, scope: string, sha256s: string[]): Promise<number> {
  let names = 0;
  for (const part of chunks(sha256s)) {
    const [gone] = await db.batch([
      db
        .delete(models)
        .where(and(eq(models.scope, scope), inArray(models.sha256, part)))
        .returning({ id: models.id }),
      db.delete(modelBlobs).where(and(eq(modelBlobs.scope, scope), inArray(modelBlobs.sha256, part))),
    ]);
    names += gone.length;
  }
  return names;
}

/** The last rows of a deleted tenant, once its jobs, uploads and models are gone. */
export async function deleteTenantRows(db: Db, tenantId: string): Promise<void> {
  await db.batch([
    db.delete(apiKeys).where(eq(apiKeys.tenantId, tenantId)),
    db.delete(webhookSecrets).where(eq(webhookSecrets.tenantId, tenantId)),
    db.delete(tenantStorage).where(eq(tenantStorage.tenantId, tenantId)),
    db.delete(tenants).where(and(eq(tenants.id, tenantId), isNotNull(tenants.deletedAt))),
  ]);
}

/** Operator records past their use: instances terminated long ago, bootstrap tokens expired. */
export async function deleteStaleOperatorRows(db: Db, instancesBefore: number, now: number): Promise<{ instances: number; tokens: number }> {
  const [inst, tok] = await db.batch([
    db
      .delete(gpuInstances)
      .where(and(isNotNull(gpuInstances.terminatedAt), lt(gpuInstances.terminatedAt, instancesBefore)))
      .returning({ id: gpuInstances.id }),
    db.delete(hostBootstrapTokens).where(lt(hostBootstrapTokens.expiresAt, now)).returning({ hash: hostBootstrapTokens.tokenHash }),
  ]);
  return { instances: inst.length, tokens: tok.length };
}
