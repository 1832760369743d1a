/**
 * D1 queries on the webhook outbox (`webhook_messages`) and the delivery log (`webhook_attempts`).
 *
 * D1 is the source of truth for delivery: the delivery objects keep nothing but an alarm, so a
 * restart, an eviction or a redeploy loses nothing. Writing an attempt's result is one batch (log
 * row + message update + the job's "gone" mark), and the message update is a compare-and-set on
 * the `updated_at` the deliverer read, so a redelivery that re-armed the message meanwhile wins.
 */
import { and, asc, desc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { jobs, type WebhookAttemptRow, type WebhookMessageRow, webhookAttempts, webhookMessages } from "../db/schema.ts";
import { randomBase32 } from "../lib/encoding.ts";
import type { Decision } from "./schedule.ts";
import type { LatestMessage } from "./status.ts";

/** Pending messages of a job due by `until`, oldest event first. */
export async function dueMessages(db: Db, jobId: string, until: number): Promise<WebhookMessageRow[]> {
  return db
    .select()
    .from(webhookMessages)
    .where(and(eq(webhookMessages.jobId, jobId), eq(webhookMessages.state, "pending"), lte(webhookMessages.nextAttemptAt, until)))
    .orderBy(asc(webhookMessages.occurredAt), asc(webhookMessages.id))
    .all();
}

/** When the job's next pending message is due; null when none is pending. */
export async function nextDueAt(db: Db, jobId: string): Promise<number | null> {
  const row = await db
    .select({ at: sql<number | null>`min(${webhookMessages.nextAttemptAt})` })
    .from(webhookMessages)
    .where(and(eq(webhookMessages.jobId, jobId), eq(webhookMessages.state, "pending")))
    .get();
  return row?.at ?? null;
}

export type AttemptRecord = Omit<WebhookAttemptRow, "id">;

/** Logs one attempt (when one was made) and moves the message on, in one batch. */
export async function saveOutcome(db: Db, msg: WebhookMessageRow, attempt: AttemptRecord | null, decision: Decision, now: number): Promise<void> {
  const update = db
    .update(webhookMessages)
    .set({
      state: decision.state,
      attempts: sql`${webhookMessages.attempts} + ${attempt ? 1 : 0}`,
      step: decision.state === "pending" ? msg.step + 1 : msg.step,
      nextAttemptAt: decision.state === "pending" ? decision.nextAttemptAt : null,
      lastAttemptAt: attempt ? attempt.attemptedAt : msg.lastAttemptAt,
      updatedAt: Math.max(now, msg.updatedAt + 1),
    })
    .where(and(eq(webhookMessages.id, msg.id), eq(webhookMessages.updatedAt, msg.updatedAt)));
  const gone = db
    .update(jobs)
    .set({ webhookGoneAt: now })
    .where(and(eq(jobs.id, msg.jobId), isNull(jobs.webhookGoneAt)));
  if (attempt) {
    const log = db.insert(webhookAttempts).values({ id: `att_${randomBase32(20)}`, ...attempt });
    if (decision.state === "gone") await db.batch([log, update, gone]);
    else await db.batch([log, update]);
  } else if (decision.state === "gone") {
    await db.batch([update, gone]);
  } else {
    await update;
  }
}

/**
 * Fixes when the message's payload links are signed (at its first attempt) and returns the value
 * that holds: set once, never moved, and without touching `updated_at` (saveOutcome's compare-and-set).
 */
export async function fixLinksSignedAt(db: Db, messageId: string, at: number): Promise<number> {
  const row = await db
    .update(webhookMessages)
    .set({ linksSignedAt: sql`coalesce(${webhookMessages.linksSignedAt}, ${at})` })
    .where(eq(webhookMessages.id, messageId))
    .returning({ linksSignedAt: webhookMessages.linksSignedAt })
    .get();
  return row?.linksSignedAt ?? at;
}

export async function messagesOf(db: Db, jobId: string): Promise<WebhookMessageRow[]> {
  return db.select().from(webhookMessages).where(eq(webhookMessages.jobId, jobId)).orderBy(desc(webhookMessages.occurredAt), desc(webhookMessages.id)).all();
}

/** Newest first, at most `limit`. */
export async function attemptsOf(db: Db, jobId: string, limit: number): Promise<WebhookAttemptRow[]> {
  return db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.jobId, jobId))
    .orderBy(desc(webhookAttempts.attemptedAt), desc(webhookAttempts.id))
    .limit(limit)
    .all();
}

/** The latest message of each job (chunked: D1 binds at most 100 parameters). */
export async function latestMessages(db: Db, jobIds: string[]): Promise<Map<string, LatestMessage>> {
  const out = new Map<string, LatestMessage & { occurredAt: number; id: string }>();
  for (let i = 0; i < jobIds.length; i += 90) {
    const rows = await db
      .select({
        jobId: webhookMessages.jobId,
        id: webhookMessages.id,
        occurredAt: webhookMessages.occurredAt,
        state: webhookMessages.state,
        attempts: webhookMessages.attempts,
        step: webhookMessages.step,
      })
      .from(webhookMessages)
      .where(inArray(webhookMessages.jobId, jobIds.slice(i, i + 90)))
      .all();
    for (const r of rows) {
      const seen = out.get(r.jobId);
      if (!seen || r.occurredAt > seen.occurredAt || (r.occurredAt === seen.occurredAt && r.id > seen.id)) out.set(r.jobId, r);
    }
  }
  return out;
}

/**
 * Re-arms the job's latest message for an attempt now, with a fresh retry schedule, and switches
 * the job's webhook back on after a 410. Returns the message, or undefined when there is none.
 */
export async function rearmLatest(db: Db, jobId: string, now: number): Promise<WebhookMessageRow | undefined> {
  const latest = await db
    .select()
    .from(webhookMessages)
    .where(eq(webhookMessages.jobId, jobId))
    .orderBy(desc(webhookMessages.occurredAt), desc(webhookMessages.id))
    .limit(1)
    .get();
  if (!latest) return undefined;
  const [rows] = await db.batch([
    db
      .update(webhookMessages)
      .set({ state: "pending", step: 0, nextAttemptAt: now, updatedAt: Math.max(now, latest.updatedAt + 1) })
      .where(eq(webhookMessages.id, latest.id))
      .returning(),
    db.update(jobs).set({ webhookGoneAt: null }).where(eq(jobs.id, jobId)),
  ]);
  return rows[0];
}

/** Jobs with a pending message overdue since before `before`: their delivery was never scheduled. */
export async function overdueJobs(db: Db, before: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectDistinct({ jobId: webhookMessages.jobId })
    .from(webhookMessages)
    // A literal, not a bound parameter, so SQLite can prove the partial index applies.
    .where(and(sql`${webhookMessages.state} = 'pending'`, lte(webhookMessages.nextAttemptAt, before)))
    .limit(limit)
    .all();
  return rows.map((r) => r.jobId);
}
