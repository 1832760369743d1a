/**
 * The retention sweep, one bounded step at a time (the RetentionSweeper runs the steps; tests
 * call them with the time they choose). A pass goes through four phases:
 *
 *   uploads   uploads past their expiry (UPLOAD_TTL_SECONDS), every tenant
 *   jobs      per tenant in id order, jobs that ended more than `retention_days` ago
 *   deleted   tenants whose deletion began: everything they hold, then the tenant itself
 *   operator  autoscaler instances terminated > 90 days ago, expired bootstrap tokens
 *
 * The cursor says where the pass is; it is saved after every step, and every step only erases what
 * is due at its time, oldest first, so a pass stopped anywhere resumes where it was and a step
 * done twice erases nothing twice.
 */
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import { deleteStaleOperatorRows, endedBefore, expiredUploads, nextTenant, tenantBeingDeleted } from "../db/retention.ts";
import type { Env } from "../env.ts";
import type { Logger } from "../lib/log.ts";
import { type Erased, eraseJobs, eraseUploads, nothingErased } from "./erase.ts";
import { deleteTenantStep } from "./tenant-deletion.ts";

export type SweepPhase = "uploads" | "jobs" | "deleted" | "operator";

export interface SweepCursor {
  phase: SweepPhase;
  /** The last tenant this phase is done with, in id order ("" before the first). */
  after: string;
}

export const PASS_START: SweepCursor = { phase: "uploads", after: "" };

export interface StepResult {
  cursor: SweepCursor;
  erased: Erased;
  /** True when this step finished a pass (the cursor is back at PASS_START). */
  passOver: boolean;
}

const DAY_MS = 86_400_000;
/** Terminated autoscaler instances are kept this long for cost reports (GET /v1/admin/pools/{name}/instances). */
export const INSTANCE_RECORD_DAYS = 90;
/** Tenants with nothing due looked at in one step before it yields (one indexed read each). */
const TENANTS_PER_STEP = 50;

export interface SweepContext {
  env: Env;
  config: Config;
  log: Logger;
}

export async function sweepStep(ctx: SweepContext, cursor: SweepCursor, now: number): Promise<StepResult> {
  const { env, config } = ctx;
  const db = createDb(env.DB);
  const batch = config.RETENTION_BATCH_JOBS;
  const stay = (erased: Erased): StepResult => ({ cursor, erased, passOver: false });
  const to = (next: SweepCursor, erased = nothingErased()): StepResult => ({ cursor: next, erased, passOver: false });

  switch (cursor.phase) {
    case "uploads": {
      const due = await expiredUploads(db, now, batch);
      const erased = await eraseUploads(env, db, due);
      return due.length < batch ? to({ phase: "jobs", after: "" }, erased) : stay(erased);
    }
    case "jobs": {
      let after = cursor.after;
      for (let i = 0; i < TENANTS_PER_STEP; i++) {
        const tenant = await nextTenant(db, after);
        if (!tenant) return to({ phase: "deleted", after: "" });
        if (tenant.deletedAt === null) {
          const cutoff = now - (tenant.retentionDays ?? config.RETENTION_DAYS) * DAY_MS;
          const due = await endedBefore(db, tenant.id, cutoff, batch);
          if (due.length > 0) {
            const erased = await eraseJobs(env, db, due);
            return to({ phase: "jobs", after: due.length < batch ? tenant.id : after }, erased);
          }
        }
        after = tenant.id;
      }
      return to({ phase: "jobs", after });
    }
    case "deleted": {
      const tenant = await tenantBeingDeleted(db, cursor.after);
      if (!tenant) return to({ phase: "operator", after: "" });
      const step = await deleteTenantStep(ctx, tenant.id, batch);
      if (step.state === "done") ctx.log.info("tenant_erased", { tenant_id: tenant.id, began_at: new Date(tenant.deletedAt).toISOString() });
      // A tenant whose last jobs are still being cancelled is looked at again next pass.
      return step.state === "waiting" ? to({ phase: "deleted", after: tenant.id }, step.erased) : stay(step.erased);
    }
    case "operator": {
      const gone = await deleteStaleOperatorRows(db, now - INSTANCE_RECORD_DAYS * DAY_MS, now);
      if (gone.instances + gone.tokens > 0) ctx.log.info("operator_records_swept", gone);
      return { cursor: PASS_START, erased: nothingErased(), passOver: true };
    }
  }
}
