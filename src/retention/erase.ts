/**
 * Erasing jobs and uploads for good: their R2 objects first, then the Durable Objects that hold a
 * job's events and webhook schedule, then the D1 rows. That order makes every step safe to
 * repeat: a run stopped half-way leaves rows whose objects may already be gone, and the next run
 * finds the same rows, deletes nothing twice and finishes. Nothing is left that a row no longer
 * points to: a job's objects are found by its R2 prefix, not only by its rows.
 */
import type { Db } from "../db/client.ts";
import { deleteJobRows, deleteUploadRows, filesOf, type JobRef, type UploadRef, uploadKeysInUse } from "../db/retention.ts";
import type { Env } from "../env.ts";

/** What an erasure removed, for the caller and the log. */
export interface Erased {
  jobs: number;
  inputs: number;
  outputs: number;
  uploads: number;
  /** R2 objects deleted. */
  objects: number;
  /** Their bytes. */
  bytes: number;
}

export const nothingErased = (): Erased => ({ jobs: 0, inputs: 0, outputs: 0, uploads: 0, objects: 0, bytes: 0 });

export function addErased(a: Erased, b: Erased): Erased {
  return {
    jobs: a.jobs + b.jobs,
    inputs: a.inputs + b.inputs,
    outputs: a.outputs + b.outputs,
    uploads: a.uploads + b.uploads,
    objects: a.objects + b.objects,
    bytes: a.bytes + b.bytes,
  };
}

/** R2 deletes take up to 1,000 keys per call. */
const R2_DELETE_MAX = 1000;
/** Calls to R2 and to Durable Objects in flight at once within one erasure. */
const PARALLEL = 8;

async function inParallel<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

/** Every object under `prefix` (all pages), with its size. */
export async function listAll(bucket: R2Bucket, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    for (const o of page.objects) out.push({ key: o.key, size: o.size });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return out;
}

export async function deleteObjects(bucket: R2Bucket, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += R2_DELETE_MAX) await bucket.delete(keys.slice(i, i + R2_DELETE_MAX));
}

/** Erases these (ended) jobs: R2 objects, event log, webhook schedule, then the rows. */
export async function eraseJobs(env: Env, db: Db, refs: JobRef[]): Promise<Erased> {
  const erased = nothingErased();
  if (refs.length === 0) return erased;
  const ids = refs.map((r) => r.id);
  const { inputs, outputs } = await filesOf(db, ids);
  erased.inputs = inputs.length;
  erased.outputs = outputs.length;

  // Everything under each job's own prefix: inputs, every attempt's outputs, strays of a failed write.
  const objects: { key: string; size: number }[] = [];
  await inParallel(refs, async (r) => {
    objects.push(...(await listAll(env.BLOBS, `jobs/${r.tenantId}/${r.id}/`)));
  });
  // An input given as an upload points at the upload's own object: it goes with the last job that
  // needs it, and only once the upload itself has expired or been erased.
  const uploadKeys = [...new Set(inputs.filter((i) => i.r2Key.startsWith("uploads/")).map((i) => i.r2Key))];
  if (uploadKeys.length > 0) {
    const inUse = await uploadKeysInUse(db, uploadKeys, { jobs: ids });
    const sizes = new Map(inputs.map((i) => [i.r2Key, i.size]));
    for (const key of uploadKeys) if (!inUse.has(key)) objects.push({ key, size: sizes.get(key) ?? 0 });
  }
  await deleteObjects(
    env.BLOBS,
    objects.map((o) => o.key),
  );
  erased.objects = objects.length;
  erased.bytes = objects.reduce((sum, o) => sum + o.size, 0);

  await inParallel(refs, async (r) => {
    await env.JOB_FEED.getByName(r.id).erase();
    if (r.hasWebhook) await env.WEBHOOK_DELIVERY.getByName(r.id).forget();
  });
  await deleteJobRows(db, ids);
  erased.jobs = refs.length;
  return erased;
}

/** Erases uploads: each object unless a job still takes it as an input, then the rows. */
export async function eraseUploads(env: Env, db: Db, refs: UploadRef[]): Promise<Erased> {
  const erased = nothingErased();
  if (refs.length === 0) return erased;
  const inUse = await uploadKeysInUse(
    db,
    refs.map((r) => r.r2Key),
    { uploadRows: true },
  );
  const free = refs.filter((r) => !inUse.has(r.r2Key));
  await deleteObjects(
    env.BLOBS,
    free.map((r) => r.r2Key),
  );
  // With its row gone, the last job that takes a kept object as input deletes it (eraseJobs).
  await deleteUploadRows(
    db,
    refs.map((r) => r.id),
  );
  erased.uploads = refs.length;
  erased.objects = free.length;
  erased.bytes = free.reduce((sum, r) => sum + r.size, 0);
  return erased;
}
