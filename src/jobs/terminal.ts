/**
 * What follows every terminal transition, whoever made it (cancel route, dispatcher, timeouts):
 * the tenant's admission slot is released, exactly once, by the caller that won the
 * compare-and-set. Webhook delivery hooks in here too.
 */
import { releaseJobSlot } from "../admission/quota.ts";
import type { JobRow } from "../db/schema.ts";
import type { Env } from "../env.ts";
import type { Logger } from "../lib/log.ts";

export async function afterTerminal(env: Env, job: JobRow, log: Logger): Promise<void> {
  log.info("job_finished", { job_id: job.id, tenant_id: job.tenantId, status: job.status, attempt: job.attempt, error_code: job.error?.code });
  await releaseJobSlot(env, job.tenantId, job.id, log);
}
