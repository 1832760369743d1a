/**
 * The Dispatcher's events for job feeds (durable-objects/job-feed.ts), sent one job at a time in
 * the order the Dispatcher decided them: each job has its own chain of publishes, so a progress
 * update can never overtake the job's `job.running` on the way. A terminal change waits for its
 * job's chain to drain first (`idle`), so it is the last thing the Dispatcher sends that job.
 * Each publish is bounded (publishOnce), so a feed that does not answer never holds up a dispatch.
 */
import type { Env } from "../../src/env.ts";
import type { FeedInput, FeedOrigin } from "../../src/feed/events.ts";
import { publishOnce } from "../../src/feed/publish.ts";
import { describeError, type Logger } from "../../src/lib/log.ts";

export class FeedSender {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly env: Env;
  private readonly log: () => Logger;

  constructor(env: Env, log: () => Logger) {
    this.env = env;
    this.log = log;
  }

  /** Queues `input` for the job's feed; the promise settles when it was handed over (never rejects). */
  send(jobId: string, input: FeedInput, origin: FeedOrigin): Promise<void> {
    const prev = this.chains.get(jobId) ?? Promise.resolve();
    const next = prev.then(async () => {
      try {
        await publishOnce(this.env, jobId, input, origin);
      } catch (err) {
        this.log().warn("feed_publish_failed", { job_id: jobId, type: input.type, ...describeError(err) });
      }
    });
    this.chains.set(jobId, next);
    void next.then(() => {
      if (this.chains.get(jobId) === next) this.chains.delete(jobId);
    });
    return next;
  }

  /** Settles once everything queued for the job so far was handed over. */
  idle(jobId: string): Promise<void> {
    return this.chains.get(jobId) ?? Promise.resolve();
  }
}
