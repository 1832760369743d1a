/**
 * Queries on the model registry: `model_blobs` (bytes, once per scope and SHA-256) and `models`
 * (names in ComfyUI folders pointing at them). State changes of a blob are compare-and-set on its
 * state, so a verification and a delete (or two completes) can never both win.
 */
import { and, asc, count, eq, gt, inArray, lt, ne, sum } from "drizzle-orm";
import type { Db } from "./client.ts";
import { type ModelBlobRow, type ModelBlobState, type ModelPart, type ModelRow, modelBlobs, models } from "./schema.ts";

export async function getBlob(db: Db, scope: string, sha256: string): Promise<ModelBlobRow | undefined> {
  return db
    .select()
    .from(modelBlobs)
    .where(and(eq(modelBlobs.scope, scope), eq(modelBlobs.sha256, sha256)))
    .get();
}

/** Inserts the blob unless one exists for (scope, sha256); true when this call created it. */
export async function insertBlob(db: Db, row: ModelBlobRow): Promise<boolean> {
  const inserted = await db.insert(modelBlobs).values(row).onConflictDoNothing().returning({ sha256: modelBlobs.sha256 });
  return inserted.length > 0;
}

/** Moves a blob from one state to another (compare-and-set); the row when it won. */
export async function moveBlob(
  db: Db,
  scope: string,
  sha256: string,
  from: readonly ModelBlobState[],
  set: Partial<Pick<ModelBlobRow, "state" | "uploadId" | "partSize" | "parts" | "error" | "updatedAt" | "size" | "source">>,
): Promise<ModelBlobRow | undefined> {
  return db
    .update(modelBlobs)
    .set(set)
    .where(and(eq(modelBlobs.scope, scope), eq(modelBlobs.sha256, sha256), inArray(modelBlobs.state, [...from])))
    .returning()
    .get();
}

/** Records a received part (replacing an earlier copy of the same part) while the upload is open. */
export async function recordPart(db: Db, scope: string, sha256: string, uploadId: string, part: ModelPart, now: number): Promise<boolean> {
  const blob = await getBlob(db, scope, sha256);
  if (blob?.state !== "uploading" || blob.uploadId !== uploadId) return false;
  const parts = [...(blob.parts ?? []).filter((p) => p.n !== part.n), part].sort((a, b) => a.n - b.n);
  // The upload id in the condition keeps a part of an aborted upload out of a new one.
  const row = await db
    .update(modelBlobs)
    .set({ parts, updatedAt: now })
    .where(and(eq(modelBlobs.scope, scope), eq(modelBlobs.sha256, sha256), eq(modelBlobs.state, "uploading"), eq(modelBlobs.uploadId, uploadId)))
    .returning({ sha256: modelBlobs.sha256 })
    .get();
  return row !== undefined;
}

export async function deleteBlobRow(db: Db, scope: string, sha256: string): Promise<void> {
  await db.delete(modelBlobs).where(and(eq(modelBlobs.scope, scope), eq(modelBlobs.sha256, sha256)));
}

export async function insertModel(db: Db, row: ModelRow): Promise<boolean> {
  const inserted = await db.insert(models).values(row).onConflictDoNothing().returning({ id: models.id });
  return inserted.length > 0;
}

export async function getModel(db: Db, scope: string, id: string): Promise<ModelRow | undefined> {
  return db
    .select()
    .from(models)
    .where(and(eq(models.scope, scope), eq(models.id, id)))
    .get();
}

export async function modelAt(db: Db, scope: string, folder: string, name: string): Promise<ModelRow | undefined> {
  return db
    .select()
    .from(models)
    .where(and(eq(models.scope, scope), eq(models.folder, folder), eq(models.name, name)))
    .get();
}

/** A page of a scope's models, by id (ids are random: a stable, unguessable order). */
export async function listModels(db: Db, scope: string, opts: { after?: string | undefined; limit: number; folder?: string | undefined }): Promise<ModelRow[]> {
  return db
    .select()
    .from(models)
    .where(
      and(
        eq(models.scope, scope),
        opts.after !== undefined ? gt(models.id, opts.after) : undefined,
        opts.folder !== undefined ? eq(models.folder, opts.folder) : undefined,
      ),
    )
    .orderBy(asc(models.id))
    .limit(opts.limit)
    .all();
}

export async function blobsOf(db: Db, scope: string, hashes: string[]): Promise<Map<string, ModelBlobRow>> {
  if (hashes.length === 0) return new Map();
  const rows = await db
    .select()
    .from(modelBlobs)
    .where(and(eq(modelBlobs.scope, scope), inArray(modelBlobs.sha256, [...new Set(hashes)])))
    .all();
  return new Map(rows.map((r) => [r.sha256, r]));
}

export async function deleteModel(db: Db, scope: string, id: string): Promise<ModelRow | undefined> {
  return db
    .delete(models)
    .where(and(eq(models.scope, scope), eq(models.id, id)))
    .returning()
    .get();
}

/** How many registered names still point at a blob. */
export async function namesOf(db: Db, scope: string, sha256: string): Promise<number> {
  const row = await db
    .select({ n: count() })
    .from(models)
    .where(and(eq(models.scope, scope), eq(models.sha256, sha256)))
    .get();
  return row?.n ?? 0;
}

/**
 * Blobs that have been `verifying` or `importing` since before `before`: their verdict was lost,
 * or (a long import) is still being worked on, which waking the verifier again does not disturb.
 */
export async function stalePending(db: Db, before: number, limit: number): Promise<{ scope: string; sha256: string }[]> {
  return db
    .select({ scope: modelBlobs.scope, sha256: modelBlobs.sha256 })
    .from(modelBlobs)
    .where(and(inArray(modelBlobs.state, ["verifying", "importing"]), lt(modelBlobs.updatedAt, before)))
    .limit(limit)
    .all();
}

/** The ready model files of `scope` registered under any of `names` (any folder): what a job naming them gets. */
export function readyModelsNamed(db: Db, scope: string, names: readonly string[]): Promise<ReadyRef[]> {
  return readyRefs(db, scope, models.name, names);
}

/** The ready files among a scope's model ids, as hosts fetch them. */
export function readyRefsOf(db: Db, scope: string, ids: readonly string[]): Promise<ReadyRef[]> {
  return readyRefs(db, scope, models.id, ids);
}

export type ReadyRef = { folder: string; name: string; sha256: string; size: number };

async function readyRefs(db: Db, scope: string, column: typeof models.name | typeof models.id, values: readonly string[]): Promise<ReadyRef[]> {
  if (values.length === 0) return [];
  return db
    .select({ folder: models.folder, name: models.name, sha256: models.sha256, size: modelBlobs.size })
    .from(models)
    .innerJoin(modelBlobs, and(eq(modelBlobs.scope, models.scope), eq(modelBlobs.sha256, models.sha256)))
    .where(and(eq(models.scope, scope), inArray(column, [...new Set(values)].slice(0, 90)), eq(modelBlobs.state, "ready")))
    .orderBy(asc(models.folder), asc(models.name))
    .all();
}

/** What a scope holds: its names, and the bytes of its blobs that are or will be stored (failed ones excepted). */
export async function scopeUsage(db: Db, scope: string): Promise<{ models: number; bytes: number }> {
  const [names, bytes] = await Promise.all([
    db.select({ n: count() }).from(models).where(eq(models.scope, scope)).get(),
    db
      .select({ total: sum(modelBlobs.size) })
      .from(modelBlobs)
      .where(and(eq(modelBlobs.scope, scope), ne(modelBlobs.state, "failed")))
      .get(),
  ]);
  return { models: names?.n ?? 0, bytes: Number(bytes?.total ?? 0) };
}

/** A scope's models registered under any of `names`. */
export function modelsNamed(db: Db, scope: string, names: readonly string[]): Promise<ModelRow[]> {
  return modelsWhere(db, scope, models.name, names);
}

export function modelsByIds(db: Db, scope: string, ids: readonly string[]): Promise<ModelRow[]> {
  return modelsWhere(db, scope, models.id, ids);
}

async function modelsWhere(db: Db, scope: string, column: typeof models.name | typeof models.id, values: readonly string[]): Promise<ModelRow[]> {
  if (values.length === 0) return [];
  return db
    .select()
    .from(models)
    .where(and(eq(models.scope, scope), inArray(column, [...new Set(values)].slice(0, 90))))
    .all();
}
