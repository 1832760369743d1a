/**
 * RetentionSweeper: one object for the deployment (`RETENTION_SWEEPER.getByName("global")`) that
 * runs the retention sweep (src/retention/sweep.ts) on its alarm, one bounded step per alarm:
 * uploads past their expiry, jobs past their tenant's retention, deleted tenants, stale operator
 * records. Steps follow each other RETENTION_PAUSE_MS apart while there is work, so D1 is free for
 * requests between them; after a pass it sleeps IDLE_MS. Its cursor is saved after every step,
 * so a restart, a deploy or a failed step resumes where the pass was.
 */
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../src/config/load.ts";
import type { Env } from "../src/env.ts";
import { createLogger, describeError } from "../src/lib/log.ts";
import { addErased, type Erased, nothingErased } from "../src/retention/erase.ts";
import { PASS_START, type SweepCursor, sweepStep } from "../src/retention/sweep.ts";

/** Between two passes: a job due now waits at most this long past its retention. */
const IDLE_MS = 10 * 60_000;
/** After a failed step (D1 or R2 unavailable): try again, same cursor. */
const ERROR_RETRY_MS = 30_000;

const CURSOR = "cursor";
const PASS = "pass";

export interface SweeperStatus {
  cursor: SweepCursor;
  /** What the pass under way has erased so far. */
  pass: Erased & { started_at: number | null };
  next_step_at: number | null;
}

export class RetentionSweeper extends DurableObject<Env> {
  /** From the cron: starts the sweep, or re-arms a lost alarm. */
  async keepTicking(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  /** Something is due now (a tenant's deletion began): the next step runs at once. */
  async wake(): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now());
  }

  async status(): Promise<SweeperStatus> {
    return {
      cursor: (await this.ctx.storage.get<SweepCursor>(CURSOR)) ?? PASS_START,
      pass: (await this.ctx.storage.get<SweeperStatus["pass"]>(PASS)) ?? { ...nothingErased(), started_at: null },
      next_step_at: await this.ctx.storage.getAlarm(),
    };
  }

  override async alarm(): Promise<void> {
    const loaded = loadConfig(this.env);
    const log = createLogger(loaded.ok ? loaded.config.LOG_LEVEL : "info", { component: "retention" });
    if (!loaded.ok) {
      log.error("retention_misconfigured", { problems: loaded.problems });
      await this.ctx.storage.setAlarm(Date.now() + ERROR_RETRY_MS);
      return;
    }
    const config = loaded.config;
    const cursor = (await this.ctx.storage.get<SweepCursor>(CURSOR)) ?? PASS_START;
    const now = Date.now();
    const pass = (await this.ctx.storage.get<SweeperStatus["pass"]>(PASS)) ?? { ...nothingErased(), started_at: now };
    let next: number;
    try {
      const step = await sweepStep({ env: this.env, config, log }, cursor, now);
      const total = { ...addErased(pass, step.erased), started_at: pass.started_at ?? now };
      if (step.erased.jobs + step.erased.uploads + step.erased.objects > 0) log.debug("retention_step", { phase: cursor.phase, ...step.erased });
      if (step.passOver) {
        log.info("retention_pass", { ...total, started_at: new Date(total.started_at).toISOString(), ms: now - total.started_at });
        await this.ctx.storage.delete(PASS);
      } else {
        await this.ctx.storage.put(PASS, total);
      }
      await this.ctx.storage.put(CURSOR, step.cursor);
      next = Date.now() + (step.passOver ? IDLE_MS : config.RETENTION_PAUSE_MS);
    } catch (err) {
      log.error("retention_step_failed", { phase: cursor.phase, after: cursor.after, ...describeError(err) });
      next = Date.now() + ERROR_RETRY_MS;
    }
    await this.ctx.storage.setAlarm(next);
  }
}
