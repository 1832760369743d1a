/**
 * WebhookSweeper: a single object ("global") whose alarm, every minute, looks in D1 for webhook
 * messages that are pending and overdue, and wakes their jobs' WebhookDelivery objects.
 *
 * It is the relay half of the transactional outbox. A message is committed with the job's status
 * change; the hand-off to its delivery object happens just after, and can be lost (the caller
 * crashed, the object's alarm gave up after the runtime's retries, a deploy reset it). Anything
 * still pending two minutes after it was due is picked up here. Waking a delivery object twice is
 * harmless (it only sends what D1 says is due), so the sweeper need not be exact.
 *
 * Trade-off: one small indexed D1 query a minute, forever, once any webhook was sent. It starts
 * from the first delivery (WebhookDelivery pings it) and then keeps its own alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../src/config/load.ts";
import { createDb } from "../src/db/client.ts";
import type { Env } from "../src/env.ts";
import { createLogger, describeError } from "../src/lib/log.ts";
import { scheduleDelivery } from "../src/webhooks/outbox.ts";
import { overdueJobs } from "../src/webhooks/store.ts";

export const SWEEP_EVERY_MS = 60_000;
/** A message this late was not merely waiting for an attempt already under way (≤ 60 s). */
export const OVERDUE_AFTER_MS = 120_000;
const BATCH = 100;

export class WebhookSweeper extends DurableObject<Env> {
  /** Makes sure the sweep alarm is set. */
  async start(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + SWEEP_EVERY_MS);
  }

  override async alarm(): Promise<void> {
    const cfg = loadConfig(this.env);
    const log = createLogger(cfg.ok ? cfg.config.LOG_LEVEL : "info", { component: "webhook-sweeper" });
    try {
      const jobIds = await overdueJobs(createDb(this.env.DB), Date.now() - OVERDUE_AFTER_MS, BATCH);
      if (jobIds.length > 0) log.warn("webhook_sweep_rescheduled", { jobs: jobIds.length });
      await Promise.all(jobIds.map((id) => scheduleDelivery(this.env, id, log)));
    } catch (err) {
      log.error("webhook_sweep_failed", describeError(err));
    } finally {
      await this.ctx.storage.setAlarm(Date.now() + SWEEP_EVERY_MS);
    }
  }
}
