/**
 * Failed jobs of a time window, counted by (error code, pool): the operator's "what is failing right
 * now". Both queries are range seeks on the partial index jobs_failed_finished_idx (only failed jobs
 * are in it), so a window costs its own failures, never the whole jobs table.
 */
import { and, count, desc, eq, gte, lte, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { jobs } from "./schema.ts";

/** The longest `last_message` returned: enough to recognise a failure; the job holds it whole. */
export const FAILURE_MESSAGE_CHARS = 500;

export interface FailureGroup {
  code: string;
  pool: string;
  count: number;
  /** finished_at of the group's latest failure (epoch ms). */
  lastAt: number;
  /** That failure's message, cut to FAILURE_MESSAGE_CHARS. */
  lastMessage: string | null;
}

export interface Window {
  since: number;
  until: number;
}

const inWindow = (w: Window) => and(eq(jobs.status, "failed"), gte(jobs.finishedAt, w.since), lte(jobs.finishedAt, w.until));
// A failed job always has an error; "unknown" only guards against a row written without one.
const code = sql<string>`coalesce(json_extract(${jobs.error}, '$.code'), 'unknown')`;
const groupCount = count();

/** The largest groups first (ties by code, then pool), at most `limit` of them. */
export function failureGroupsQuery(db: Db, w: Window, limit: number) {
  return db
    .select({
      code,
      pool: jobs.pool,
      count: groupCount,
      // Never null: every row of the window has a finished_at.
      lastAt: sql<number>`max(${jobs.finishedAt})`,
      // SQLite takes a bare column of an aggregate query with a single max() from the row that
      // max() picked: this is the message of the group's latest failure, in the same pass.
      lastMessage: sql<string | null>`substr(json_extract(${jobs.error}, '$.message'), 1, ${FAILURE_MESSAGE_CHARS})`,
    })
    .from(jobs)
    .where(inWindow(w))
    .groupBy(code, jobs.pool)
    .orderBy(desc(groupCount), code, jobs.pool)
    .limit(limit);
}

/** Every failed job of the window, the groups left out by `limit` included. */
export function failureTotalQuery(db: Db, w: Window) {
  return db.select({ total: count() }).from(jobs).where(inWindow(w));
}

/** The window's groups (at most `limit`) and its total, in one round trip to D1. */
export async function failureSummary(db: Db, w: Window, limit: number): Promise<{ total: number; groups: FailureGroup[] }> {
  const [groups, totals] = await db.batch([failureGroupsQuery(db, w, limit), failureTotalQuery(db, w)]);
  return { total: totals[0]?.total ?? 0, groups };
}
