/** Queries on job inputs and outputs (their bytes live in R2 under the keys stored here). */
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "./client.ts";
import { type JobInputRow, type JobOutputRow, jobInputs, jobOutputs } from "./schema.ts";

export async function inputsOf(db: Db, jobId: string): Promise<JobInputRow[]> {
  return db.select().from(jobInputs).where(eq(jobInputs.jobId, jobId)).all();
}

export async function inputOf(db: Db, jobId: string, id: string): Promise<JobInputRow | undefined> {
  return db
    .select()
    .from(jobInputs)
    .where(and(eq(jobInputs.jobId, jobId), eq(jobInputs.id, id)))
    .get();
}

export async function upsertOutput(db: Db, row: JobOutputRow): Promise<void> {
  await db
    .insert(jobOutputs)
    .values(row)
    .onConflictDoUpdate({
      target: [jobOutputs.jobId, jobOutputs.attempt, jobOutputs.name],
      set: { contentType: row.contentType, size: row.size, sha256: row.sha256, r2Key: row.r2Key, nodeId: row.nodeId, kind: row.kind, createdAt: row.createdAt },
    });
}

export async function outputsOf(db: Db, jobId: string, attempt: number): Promise<JobOutputRow[]> {
  return db
    .select()
    .from(jobOutputs)
    .where(and(eq(jobOutputs.jobId, jobId), eq(jobOutputs.attempt, attempt)))
    .orderBy(jobOutputs.name)
    .all();
}

/** Outputs of several (job, attempt) pairs at once, for a list page. */
export async function outputsOfMany(db: Db, jobs: { id: string; attempt: number }[]): Promise<Map<string, JobOutputRow[]>> {
  const out = new Map<string, JobOutputRow[]>();
  if (jobs.length === 0) return out;
  const want = new Map(jobs.map((j) => [j.id, j.attempt]));
  for (let i = 0; i < jobs.length; i += 90) {
    const rows = await db
      .select()
      .from(jobOutputs)
      .where(
        inArray(
          jobOutputs.jobId,
          jobs.slice(i, i + 90).map((j) => j.id),
        ),
      )
      .orderBy(jobOutputs.name)
      .all();
    for (const r of rows) {
      if (want.get(r.jobId) !== r.attempt) continue;
      out.set(r.jobId, [...(out.get(r.jobId) ?? []), r]);
    }
  }
  return out;
}

export async function outputOf(db: Db, jobId: string, attempt: number, name: string): Promise<JobOutputRow | undefined> {
  return db
    .select()
    .from(jobOutputs)
    .where(and(eq(jobOutputs.jobId, jobId), eq(jobOutputs.attempt, attempt), eq(jobOutputs.name, name)))
    .get();
}

/** Every output row of the job (all attempts), for deleting them. */
export async function allOutputsOf(db: Db, jobId: string): Promise<JobOutputRow[]> {
  return db.select().from(jobOutputs).where(eq(jobOutputs.jobId, jobId)).all();
}

/** Removes the job's output rows; how many there were. */
export async function deleteOutputsOf(db: Db, jobId: string): Promise<number> {
  return (await db.delete(jobOutputs).where(eq(jobOutputs.jobId, jobId)).returning({ name: jobOutputs.name }).all()).length;
}
