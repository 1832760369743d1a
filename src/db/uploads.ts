/** Queries on uploaded files (their bytes live in R2). */
import { and, eq, gt } from "drizzle-orm";
import type { Db } from "./client.ts";
import { uploads } from "./schema.ts";

export type UploadRow = typeof uploads.$inferSelect;

export async function insertUpload(db: Db, row: UploadRow): Promise<void> {
  await db.insert(uploads).values(row);
}

/** The owner's upload if it exists and has not expired; another user's is never returned. */
export async function uploadOf(db: Db, owner: { tenantId: string; userId: string }, id: string, now: number): Promise<UploadRow | undefined> {
  return db
    .select()
    .from(uploads)
    .where(and(eq(uploads.id, id), eq(uploads.tenantId, owner.tenantId), eq(uploads.userId, owner.userId), gt(uploads.expiresAt, now)))
    .get();
}
