/**
 * The Worker's side of admission: calls the tenant's TenantQuota object and fails closed. If the
 * object cannot be reached or errors, the submit is refused with 503 and nothing is admitted.
 * `releaseJobSlot` is the one function every terminal transition calls.
 */
import type { Env } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { describeError, type Logger } from "../lib/log.ts";
import type { Limits } from "../tenants/limits.ts";
import type { AdmitRequest, AdmitResult, UploadReserveRequest, UploadReserveResult, Usage } from "./types.ts";

const quotaOf = (env: Env, tenantId: string) => env.TENANT_QUOTA.getByName(tenantId);

function unavailable(): ProblemError {
  return new ProblemError("unavailable", "Admission is temporarily unavailable; nothing was submitted. Retry shortly.", {
    headers: { "Retry-After": "2" },
  });
}

export async function admitJob(env: Env, tenantId: string, req: AdmitRequest, log: Logger): Promise<AdmitResult> {
  try {
    return await quotaOf(env, tenantId).admit(req);
  } catch (err) {
    log.error("admission_unavailable", { tenant_id: tenantId, ...describeError(err) });
    throw unavailable();
  }
}

export async function usageOf(env: Env, tenantId: string, userId: string, limits: Limits, log: Logger): Promise<Usage> {
  try {
    return await quotaOf(env, tenantId).usage(userId, limits);
  } catch (err) {
    log.error("admission_unavailable", { tenant_id: tenantId, ...describeError(err) });
    throw unavailable();
  }
}

/**
 * Frees a job's slot when it reaches a terminal state (or when its row was never written:
 * `abandoned`). Idempotent. If the object cannot be reached now, the lease reconciliation frees
 * the slot later, so a failure here is logged, not thrown: the terminal state already stands.
 */
export async function releaseJobSlot(env: Env, tenantId: string, jobId: string, log: Logger, opts: { abandoned?: boolean } = {}): Promise<void> {
  try {
    const freed = await quotaOf(env, tenantId).release(jobId, opts);
    log.debug("slot_released", { tenant_id: tenantId, job_id: jobId, freed });
  } catch (err) {
    log.warn("slot_release_deferred", { tenant_id: tenantId, job_id: jobId, ...describeError(err) });
  }
}

/** Checks and reserves an upload against the tenant's 24 h quota; fails closed (503) like admission. */
export async function reserveUpload(env: Env, tenantId: string, req: UploadReserveRequest, log: Logger): Promise<UploadReserveResult> {
  try {
    return await quotaOf(env, tenantId).reserveUpload(req);
  } catch (err) {
    log.error("admission_unavailable", { tenant_id: tenantId, ...describeError(err) });
    throw new ProblemError("unavailable", "Upload admission is temporarily unavailable; nothing was stored. Retry shortly.", {
      headers: { "Retry-After": "2" },
    });
  }
}

/** Gives an upload's reservation back (it was not stored). Best effort: the window forgets it in 24 h anyway. */
export async function releaseUpload(env: Env, tenantId: string, uploadId: string, log: Logger): Promise<void> {
  try {
    await quotaOf(env, tenantId).releaseUpload(uploadId);
  } catch (err) {
    log.warn("upload_release_deferred", { tenant_id: tenantId, upload_id: uploadId, ...describeError(err) });
  }
}
