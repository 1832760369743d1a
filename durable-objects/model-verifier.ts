/**
 * ModelVerifier: one object per model blob (`<scope>:<sha256>`) that checks an uploaded file whole
 * (src/models/verify.ts) in its alarm, off the request that completed the upload: hashing a file
 * of many GB takes longer than a request should, and an alarm is retried if it fails. The cron
 * wakes the verifier of any blob left `verifying` (src/scheduled.ts), so none waits forever.
 */
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../src/config/load.ts";
import type { Env } from "../src/env.ts";
import { createLogger, describeError } from "../src/lib/log.ts";
import { verifyBlob } from "../src/models/verify.ts";

/** Attempts before the runtime's own alarm retries take over; each failure waits longer. */
const RETRY_MS = [5_000, 30_000, 120_000];

export class ModelVerifier extends DurableObject<Env> {
  /** Schedules the verification of (scope, sha256) now; repeated calls are one verification. */
  async verify(scope: string, sha256: string): Promise<void> {
    await this.ctx.storage.put("blob", { scope, sha256 });
    await this.ctx.storage.put("failures", 0);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    const blob = await this.ctx.storage.get<{ scope: string; sha256: string }>("blob");
    if (!blob) return;
    const cfg = loadConfig(this.env);
    const log = createLogger(cfg.ok ? cfg.config.LOG_LEVEL : "info", { component: "model-verifier" });
    try {
      const verdict = await verifyBlob(this.env, blob.scope, blob.sha256);
      log.info("model_verified", { scope: blob.scope, sha256: blob.sha256, verdict });
      await this.ctx.storage.deleteAll();
    } catch (err) {
      const failures = ((await this.ctx.storage.get<number>("failures")) ?? 0) + 1;
      await this.ctx.storage.put("failures", failures);
      log.warn("model_verification_retry", { scope: blob.scope, sha256: blob.sha256, failures, ...describeError(err) });
      await this.ctx.storage.setAlarm(Date.now() + (RETRY_MS[Math.min(failures, RETRY_MS.length) - 1] ?? 120_000));
    }
  }
}
