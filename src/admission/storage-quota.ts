/**
 * The storage quota (`limits.storage_bytes`): bytes of outputs, uploads and private model files a
 * tenant holds, as tenant_storage counts them (kept by triggers, migrations/0015_lifecycle.sql).
 * An upload or model file that would take the tenant past it, and any submit once it is reached,
 * get 429 storage-quota-exceeded. Outputs of jobs already admitted are still stored, so a tenant
 * can end slightly over; deleting outputs (`DELETE /v1/jobs/{id}/outputs`), retention or a raised
 * quota make room.
 */
import type { Db } from "../db/client.ts";
import { storageUsed } from "../db/retention.ts";
import { ProblemError } from "../http/problem.ts";

export interface StorageStanding {
  used: number;
  quota: number;
}

export async function storageStanding(db: Db, tenantId: string, quota: number): Promise<StorageStanding> {
  return { used: await storageUsed(db, tenantId), quota };
}

/** `adding`: the bytes about to be stored (an upload); 0 for a submit, refused once the quota is reached. */
export async function refuseOverStorage(db: Db, tenantId: string, quota: number, adding: number): Promise<void> {
  const used = await storageUsed(db, tenantId);
  const over = adding > 0 ? used + adding > quota : used >= quota;
  if (!over) return;
  const detail =
    adding > 0
      ? `Storing these ${adding} bytes would take this tenant to ${used + adding} bytes of outputs, uploads and model files (limit ${quota}).`
      : `This tenant holds ${used} bytes of outputs, uploads and model files (limit ${quota}), so new jobs are refused.`;
  throw new ProblemError(
    "storage-quota-exceeded",
    `${detail} Delete outputs (DELETE /v1/jobs/{id}/outputs) or model files, or ask an operator to raise limits.storage_bytes.`,
    {
      extensions: { limit: quota, current: used, "violated-policies": ["storage-bytes"] },
    },
  );
}
