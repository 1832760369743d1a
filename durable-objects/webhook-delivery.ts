/**
 * WebhookDelivery: one object per job with a webhook (named by the job id). Its alarm sends the
 * job's due webhook messages and sleeps until the next retry is due.
 *
 * Why one object per job: deliveries of different jobs never share a queue, a connection or an
 * alarm, so a receiver that is slow (up to WEBHOOK_TIMEOUT_SECONDS per attempt) or down for days
 * delays nobody else; within a job, messages go one after the other in event order.
 *
 * Invariants:
 * - D1 (`webhook_messages`) is the only state; this object stores just its job id and an alarm.
 *   Losing the object, its alarm or an in-flight attempt loses nothing: the message stays pending
 *   in D1 and is sent by the next alarm, or rescheduled by the sweeper. Delivery is therefore
 *   at least once; receivers dedupe on `webhook-id`.
 * - `schedule()` only sets an alarm, so callers on the job pipeline (Dispatcher, routes) never
 *   wait for a receiver.
 * - Alarms run one at a time per object, so a message is never sent twice concurrently.
 */
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../src/config/load.ts";
import { createDb } from "../src/db/client.ts";
import type { Env } from "../src/env.ts";
import { createLogger, describeError, type Logger } from "../src/lib/log.ts";
import { deliverMessage } from "../src/webhooks/deliver.ts";
import { dueMessages, nextDueAt } from "../src/webhooks/store.ts";

const JOB_KEY = "job_id";
/** Messages due this soon are sent in the same alarm rather than waking up again for them. */
const DUE_SLACK_MS = 1_000;
/** After an unexpected error (D1 unavailable), look again this soon. */
const ERROR_RETRY_MS = 30_000;
/** How often one isolate reminds the sweeper to keep its alarm (it keeps it on its own anyway). */
const SWEEPER_PING_EVERY_MS = 10 * 60_000;
let lastSweeperPing = 0;

export class WebhookDelivery extends DurableObject<Env> {
  private log(level: Parameters<typeof createLogger>[0] = "info"): Logger {
    return createLogger(level, { component: "webhook-delivery" });
  }

  /** Send this job's due messages now (and remember which job this object serves). */
  async schedule(jobId: string): Promise<void> {
    if ((await this.ctx.storage.get<string>(JOB_KEY)) !== jobId) await this.ctx.storage.put(JOB_KEY, jobId);
    const now = Date.now();
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > now) await this.ctx.storage.setAlarm(now);
  }

  /** The job is being erased (retention, erasure): no more deliveries, nothing kept. */
  async forget(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    const jobId = await this.ctx.storage.get<string>(JOB_KEY);
    if (!jobId) return;
    const result = loadConfig(this.env);
    if (!result.ok) {
      // Misconfigured deployment: keep the messages and look again later.
      this.log().error("webhook_delivery_misconfigured", { problems: result.problems });
      await this.ctx.storage.setAlarm(Date.now() + ERROR_RETRY_MS);
      return;
    }
    const config = result.config;
    const log = this.log(config.LOG_LEVEL);
    const db = createDb(this.env.DB);
    this.pingSweeper(log);

    let failed = false;
    try {
      for (const msg of await dueMessages(db, jobId, Date.now() + DUE_SLACK_MS)) {
        try {
          await deliverMessage({ env: this.env, config, log, db }, msg);
        } catch (err) {
          failed = true;
          log.error("webhook_delivery_error", { job_id: jobId, webhook_id: msg.id, ...describeError(err) });
        }
      }
    } catch (err) {
      failed = true;
      log.error("webhook_delivery_error", { job_id: jobId, ...describeError(err) });
    }

    let next: number | null = failed ? Date.now() + ERROR_RETRY_MS : null;
    try {
      const due = await nextDueAt(db, jobId);
      if (due !== null) next = Math.min(next ?? Infinity, due);
    } catch (err) {
      log.error("webhook_delivery_error", { job_id: jobId, ...describeError(err) });
      next = Date.now() + ERROR_RETRY_MS;
    }
    // A schedule() that arrived while this alarm ran may already have set an earlier alarm.
    const current = await this.ctx.storage.getAlarm();
    if (next !== null && (current === null || current > next)) await this.ctx.storage.setAlarm(Math.max(next, Date.now()));
  }

  /** Keeps the sweeper alive without putting it on anyone's critical path. */
  private pingSweeper(log: Logger): void {
    const now = Date.now();
    if (now - lastSweeperPing < SWEEPER_PING_EVERY_MS) return;
    lastSweeperPing = now;
    this.ctx.waitUntil(
      this.env.WEBHOOK_SWEEPER.getByName("global")
        .start()
        .catch((err: unknown) => {
          lastSweeperPing = 0;
          log.warn("webhook_sweeper_unreachable", describeError(err));
        }),
    );
  }
}
