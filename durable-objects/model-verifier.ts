/**
 * ModelVerifier: one object per model blob (`<scope>:<sha256>`) that brings a file in the making
 * to its verdict in its alarm, off the request that asked for it: an uploaded file is hashed whole
 * (src/models/verify.ts), a file registered by URL is downloaded into R2 and hashed as it streams
 * (src/models/import.ts). Both take longer than a request should (many GB), and an alarm is
 * retried if it fails. The cron wakes the object of any blob left `verifying` or `importing`
 * (src/scheduled.ts), so none waits forever.
 *
 * The name stays ModelVerifier although it imports too: an import is a verification whose bytes
 * come from a URL instead of R2, and renaming a class that has live objects costs a
 * `renamed_classes` migration and a new binding name in every environment for no behaviour.
 */
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../src/config/load.ts";
import { createDb } from "../src/db/client.ts";
import { getBlob } from "../src/db/models.ts";
import type { Env } from "../src/env.ts";
import { createLogger, describeError } from "../src/lib/log.ts";
import { importBlob } from "../src/models/import.ts";
import { type Verdict, verifyBlob } from "../src/models/verify.ts";

/** Attempts before the runtime's own alarm retries take over; each failure waits longer. */
const RETRY_MS = [5_000, 30_000, 120_000];

export class ModelVerifier extends DurableObject<Env> {
  /** An alarm is working now (in memory: an evicted object has none, and the cron may start it again). */
  private running = false;
  /** settle() was called while it worked: look at the blob once more afterwards. */
  private again = false;

  /**
   * Schedules the verdict on (scope, sha256) now — a verification or an import, by the blob's
   * state. Repeated calls are one; a call while one runs (the cron's, or a new registration after
   * a delete) gets one more look at the blob when it ends, never a second download beside it.
   */
  async settle(scope: string, sha256: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    await this.ctx.storage.put("blob", { scope, sha256 });
    await this.ctx.storage.put("failures", 0);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    const blob = await this.ctx.storage.get<{ scope: string; sha256: string }>("blob");
    if (!blob) return;
    const cfg = loadConfig(this.env);
    const log = createLogger(cfg.ok ? cfg.config.LOG_LEVEL : "info", { component: "model-verifier" });
    this.running = true;
    this.again = false;
    try {
      if (!cfg.ok) throw new Error("the Worker's configuration does not load");
      const row = await getBlob(createDb(this.env.DB), blob.scope, blob.sha256);
      let verdict: Verdict = "gone";
      if (row?.state === "verifying") verdict = await verifyBlob(this.env, row);
      else if (row?.state === "importing") verdict = await importBlob(this.env, cfg.config, row);
      log.info("model_settled", { scope: blob.scope, sha256: blob.sha256, from: row?.state ?? null, verdict });
      if (this.again) await this.ctx.storage.setAlarm(Date.now());
      else await this.ctx.storage.deleteAll();
    } catch (err) {
      const failures = ((await this.ctx.storage.get<number>("failures")) ?? 0) + 1;
      await this.ctx.storage.put("failures", failures);
      log.warn("model_settle_retry", { scope: blob.scope, sha256: blob.sha256, failures, ...describeError(err) });
      await this.ctx.storage.setAlarm(Date.now() + (RETRY_MS[Math.min(failures, RETRY_MS.length) - 1] ?? 120_000));
    } finally {
      this.running = false;
    }
  }
}
