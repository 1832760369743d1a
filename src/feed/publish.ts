/**
 * Handing events to a job's feed (durable-objects/job-feed.ts). A feed that cannot be reached
 * must not fail the change it reports: the change is already committed in D1, and a stream that
 * missed its terminal event gets it when a client reconnects (src/routes/job-events.ts records it
 * from D1 then). So publishing retries a little and then logs.
 */
import type { JobOutputRow, JobRow } from "../db/schema.ts";
import type { Env } from "../env.ts";
import { describeError, type Logger } from "../lib/log.ts";
import type { FeedInput, FeedOrigin, FeedOutput, TerminalEventType } from "./events.ts";

/** A feed that does not answer within this long is given up on for that event (logged). */
export const FEED_PUBLISH_TIMEOUT_MS = 5_000;

/** Publishes one event, bounded by FEED_PUBLISH_TIMEOUT_MS; rejects on failure or timeout. */
export async function publishOnce(env: Env, jobId: string, input: FeedInput, origin: FeedOrigin): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the job's feed did not answer within ${FEED_PUBLISH_TIMEOUT_MS} ms`)), FEED_PUBLISH_TIMEOUT_MS);
  });
  try {
    await Promise.race([env.JOB_FEED.getByName(jobId).publish(input, origin), timeout]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

export const originOf = (row: Pick<JobRow, "createdAt" | "pool">): FeedOrigin => ({ createdAt: row.createdAt, pool: row.pool });

export async function publishEvent(env: Env, jobId: string, input: FeedInput, origin: FeedOrigin, log: Logger, tries = 2): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await publishOnce(env, jobId, input, origin);
      return;
    } catch (err) {
      if (i >= tries) {
        log.warn("feed_publish_failed", { job_id: jobId, type: input.type, ...describeError(err) });
        return;
      }
    }
  }
}

export function feedOutput(o: Pick<JobOutputRow, "name" | "contentType" | "size" | "sha256" | "kind" | "nodeId">): FeedOutput {
  return { name: o.name, content_type: o.contentType, size: o.size, sha256: o.sha256, kind: o.kind, node_id: o.nodeId };
}

/** The terminal event of an ended job, from its row (and, when it succeeded, the outputs of its attempt). */
export function terminalInput(row: JobRow, outputs: JobOutputRow[]): FeedInput {
  return {
    type: `job.${row.status}` as TerminalEventType,
    attempt: row.attempt,
    at: row.finishedAt ?? row.updatedAt,
    error: row.error ?? null,
    timings: row.timings ?? null,
    outputs: row.status === "succeeded" ? outputs.map(feedOutput) : [],
  };
}
