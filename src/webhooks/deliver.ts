/**
 * Delivers one webhook message once: re-check the URL with the SSRF guard, build the payload (the
 * same bytes on every attempt of the message: payload.ts),
 * sign it with every active secret of the tenant (Standard Webhooks, a `v1,` signature per secret
 * during a rotation; the `webhook-id` is the message id, the same on every retry; the
 * `webhook-timestamp` is this attempt's), send it, then log the attempt and move the message on
 * (delivered, retry at the next step of the schedule, failed, or gone) in one D1 batch.
 *
 * Runs only inside a WebhookDelivery object's alarm, never on a request or dispatch path.
 * Secrets are decrypted here, used for this signature and dropped; they are never logged.
 */
import type { Config } from "../config/schema.ts";
import type { Db } from "../db/client.ts";
import { getJob } from "../db/jobs.ts";
import type { JobRow, WebhookMessageRow } from "../db/schema.ts";
import { activeWebhookSecrets } from "../db/tenants.ts";
import { dataKeys, secretContext } from "../encryption/columns.ts";
import type { Env } from "../env.ts";
import { decryptSecret, UndecryptableSecret } from "../lib/crypto.ts";
import type { Logger } from "../lib/log.ts";
import { signWebhook } from "../protocol/standard-webhooks.ts";
import { buildPayload } from "./payload.ts";
import { type Decision, decide, parseSchedule, type SendResult } from "./schedule.ts";
import { sendOnce, type Timed } from "./send.ts";
import { type AttemptRecord, fixLinksSignedAt, saveOutcome } from "./store.ts";
import { vetWebhookUrl } from "./url.ts";

export interface DeliverContext {
  env: Env;
  config: Config;
  log: Logger;
  db: Db;
}

async function signingSecrets(ctx: DeliverContext, tenantId: string): Promise<string[]> {
  const rows = await activeWebhookSecrets(ctx.db, tenantId);
  const keys = dataKeys(ctx.config);
  const secrets: string[] = [];
  for (const r of rows) {
    try {
      secrets.push(await decryptSecret(r.secretCiphertext, keys, secretContext.webhookSecret(r.id)));
    } catch (err) {
      // A value under a key no longer listed, or not this row's: sign with the others; with none
      // left the attempt fails and is retried (the operator sees this line).
      if (!(err instanceof UndecryptableSecret)) throw err;
      ctx.log.error("webhook_secret_unreadable", { tenant_id: tenantId, secret_id: r.id, reason: err.reason, kid: err.kid });
    }
  }
  if (secrets.length === 0) throw new Error(`tenant ${tenantId} has no readable webhook secret`);
  return secrets;
}

async function attempt(ctx: DeliverContext, msg: WebhookMessageRow, job: JobRow): Promise<Timed> {
  const startedAt = Date.now();
  const check = await vetWebhookUrl(msg.url, ctx.config);
  if (check.ok !== true) {
    const result: SendResult =
      check.ok === false
        ? { kind: "refused", reason: check.reason, detail: check.detail, permanent: check.permanent }
        : { kind: "refused", reason: "dns", detail: check.detail, permanent: false };
    return { result, startedAt, durationMs: Math.max(0, Date.now() - startedAt) };
  }
  const linksSignedAt = msg.linksSignedAt ?? (await fixLinksSignedAt(ctx.db, msg.id, startedAt));
  const body = await buildPayload({ env: ctx.env, config: ctx.config, log: ctx.log, baseUrl: job.webhookBaseUrl ?? "" }, msg, job, linksSignedAt);
  const secrets = await signingSecrets(ctx, msg.tenantId);
  const headers = await signWebhook(secrets, body, { id: msg.id });
  return sendOnce(check.url, body, { ...headers }, ctx.config.WEBHOOK_TIMEOUT_SECONDS * 1000);
}

function attemptError(result: SendResult): AttemptRecord["error"] {
  switch (result.kind) {
    case "response":
      if (result.status >= 300 && result.status < 400)
        return { code: "redirect", message: `The receiver answered ${result.status}; redirects are not followed (deliver to the final URL).` };
      return null;
    case "timeout":
      return { code: "timeout", message: `No answer within ${result.afterMs / 1000} s.` };
    case "network":
      return { code: "network", message: "The receiver could not be reached or closed the connection." };
    case "refused":
      return { code: "unsafe_url", message: result.detail };
    case "skipped":
      return null;
    default: {
      const never: never = result;
      throw new Error(`unhandled send result ${JSON.stringify(never)}`);
    }
  }
}

function outcomeOf(decision: Decision): AttemptRecord["outcome"] {
  return decision.state === "pending" ? "retry" : decision.state;
}

/** Makes (at most) one attempt for `msg` and records it. */
export async function deliverMessage(ctx: DeliverContext, msg: WebhookMessageRow): Promise<Decision> {
  const schedule = parseSchedule(ctx.config.WEBHOOK_RETRY_SCHEDULE) ?? [];
  const job = await getJob(ctx.db, msg.jobId);
  let timed: Timed;
  if (!job) timed = { result: { kind: "skipped", reason: "job_deleted" }, startedAt: Date.now(), durationMs: 0 };
  else if (job.webhookGoneAt !== null) timed = { result: { kind: "skipped", reason: "gone" }, startedAt: Date.now(), durationMs: 0 };
  else timed = await attempt(ctx, msg, job);

  const now = Date.now();
  const decision = decide(timed.result, msg.step, schedule, now);
  const { result } = timed;
  const record: AttemptRecord | null =
    result.kind === "skipped"
      ? null
      : {
          messageId: msg.id,
          jobId: msg.jobId,
          attemptedAt: timed.startedAt,
          durationMs: timed.durationMs,
          statusCode: result.kind === "response" ? result.status : null,
          error: attemptError(result),
          outcome: outcomeOf(decision),
        };
  await saveOutcome(ctx.db, msg, record, decision, now);
  const fields: Record<string, unknown> = {
    job_id: msg.jobId,
    webhook_id: msg.id,
    type: msg.type,
    result: result.kind,
    state: decision.state,
    duration_ms: timed.durationMs,
  };
  if (result.kind === "response") fields.status = result.status;
  if (result.kind === "refused") fields.reason = result.reason;
  if (result.kind === "network") fields.error_message = result.message;
  if (decision.state === "pending") fields.next_attempt_at = decision.nextAttemptAt;
  if (decision.state === "delivered") ctx.log.info("webhook_delivered", fields);
  else ctx.log.warn("webhook_attempt_failed", fields);
  return decision;
}
