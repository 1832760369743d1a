/**
 * Finishing a tenant's deletion (`DELETE /v1/admin/tenants/{id}` begins it: keys revoked, webhook
 * secrets retired, src/db/retention.ts beginTenantDeletion). The retention sweeper takes it one
 * bounded step at a time: live jobs cancelled, ended jobs erased, uploads, private model files,
 * any object left under the tenant's R2 prefixes, and last the tenant's own rows.
 */
import { modelBlobKey, tenantPrefixes } from "../blobs/keys.ts";
import { createDb } from "../db/client.ts";
import { deleteModelRows, deleteTenantRows, endedJobsOf, modelBlobsOf, uploadsOf } from "../db/retention.ts";
import { describeError } from "../lib/log.ts";
import { deleteObjects, type Erased, eraseJobs, eraseUploads, nothingErased } from "./erase.ts";
import { cancelLiveJobs } from "./live-jobs.ts";
import type { SweepContext } from "./sweep.ts";

export interface TenantStep {
  /** erasing: more to do now; waiting: only live jobs remain, being cancelled; done: the tenant is gone. */
  state: "erasing" | "waiting" | "done";
  erased: Erased;
}

export async function deleteTenantStep(ctx: SweepContext, tenantId: string, batch: number): Promise<TenantStep> {
  const { env, log } = ctx;
  const db = createDb(env.DB);
  const live = await cancelLiveJobs(env, db, log, tenantId, null, batch, Date.now());

  const jobs = await endedJobsOf(db, tenantId, null, batch);
  if (jobs.length > 0) return { state: "erasing", erased: await eraseJobs(env, db, jobs) };
  if (live > 0) return { state: "waiting", erased: nothingErased() };

  const uploads = await uploadsOf(db, tenantId, null, batch);
  if (uploads.length > 0) return { state: "erasing", erased: await eraseUploads(env, db, uploads) };

  const blobs = await modelBlobsOf(db, tenantId, batch);
  if (blobs.length > 0) {
    for (const b of blobs) {
      if (b.uploadId === null) continue;
      try {
        await env.BLOBS.resumeMultipartUpload(modelBlobKey(tenantId, b.sha256), b.uploadId).abort();
      } catch (err) {
        // Completed or aborted already: nothing of it is left to stop.
        log.info("model_upload_abort_skipped", { tenant_id: tenantId, sha256: b.sha256, ...describeError(err) });
      }
    }
    await deleteObjects(
      env.BLOBS,
      blobs.map((b) => modelBlobKey(tenantId, b.sha256)),
    );
    await deleteModelRows(
      db,
      tenantId,
      blobs.map((b) => b.sha256),
    );
    const bytes = blobs.filter((b) => b.state !== "failed").reduce((sum, b) => sum + b.size, 0);
    return { state: "erasing", erased: { ...nothingErased(), objects: blobs.length, bytes } };
  }

  // Whatever no row pointed to any more (a write that failed half-way): the prefixes are the tenant's alone.
  for (const prefix of tenantPrefixes(tenantId)) {
    const page = await env.BLOBS.list({ prefix, limit: 1000 });
    if (page.objects.length > 0) {
      await deleteObjects(
        env.BLOBS,
        page.objects.map((o) => o.key),
      );
      return { state: "erasing", erased: { ...nothingErased(), objects: page.objects.length, bytes: page.objects.reduce((s, o) => s + o.size, 0) } };
    }
  }
  await deleteTenantRows(db, tenantId);
  return { state: "done", erased: nothingErased() };
}
