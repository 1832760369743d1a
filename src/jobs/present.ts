/**
 * Builds the public job representation with what lives outside the job row: the outputs of the
 * succeeding attempt (with fresh signed URLs, on OUTPUTS_BASE_URL when set) and, for queued jobs,
 * the position in the pool's queue and why it waits (waiting_for). Job views and webhook payloads are both built here, so this
 * is the one place output URLs are minted.
 */
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import { outputsOfMany } from "../db/outputs.ts";
import type { JobOutputRow, JobRow } from "../db/schema.ts";
import { dispatcherOf } from "../dispatch/route.ts";
import { shardName } from "../dispatch/shards.ts";
import type { JobInfo } from "../dispatch/types.ts";
import type { Env } from "../env.ts";
import { keysOf } from "../lib/key-list.ts";
import { describeError, type Logger } from "../lib/log.ts";
import { signedOutputUrl } from "../outputs/signed-url.ts";
import { latestMessages } from "../webhooks/store.ts";
import type { JobView } from "./view.ts";
import { jobView } from "./view.ts";

export interface PresentContext {
  env: Env;
  config: Config;
  log: Logger;
  /** Origin (and base path) the API is served from, for absolute output URLs unless OUTPUTS_BASE_URL is set. */
  baseUrl: string;
}

async function outputViews(ctx: PresentContext, jobId: string, rows: JobOutputRow[], signedAt = Date.now()): Promise<JobView["outputs"]> {
  // Downloads come from OUTPUTS_BASE_URL when set: a separate origin, so even an output that got
  // past every other guard could never act in the API's or a console's origin.
  const origin = ctx.config.OUTPUTS_BASE_URL || ctx.baseUrl;
  return Promise.all(
    rows.map(async (o) => ({
      name: o.name,
      content_type: o.contentType,
      size: o.size,
      sha256: o.sha256,
      kind: o.kind,
      url: await signedOutputUrl(origin, jobId, o.name, ctx.config.OUTPUT_URL_TTL_SECONDS, keysOf(ctx.config.OUTPUT_URL_KEYS), signedAt),
    })),
  );
}

async function jobInfos(ctx: PresentContext, rows: JobRow[]): Promise<Map<string, JobInfo | null>> {
  // One call per Dispatcher shard holding some of the jobs (each job's own, as D1 says).
  const byShard = new Map<string, { pool: string; shard: number; ids: string[] }>();
  for (const r of rows) {
    if (r.status !== "queued" && r.status !== "running") continue;
    const key = shardName(r.pool, r.dispatcherShard);
    const group = byShard.get(key) ?? { pool: r.pool, shard: r.dispatcherShard, ids: [] };
    group.ids.push(r.id);
    byShard.set(key, group);
  }
  const out = new Map<string, JobInfo | null>();
  for (const { pool, shard, ids } of byShard.values()) {
    try {
      const infos = await dispatcherOf(ctx.env, pool, shard).jobInfo(ids);
      for (const [i, id] of ids.entries()) out.set(id, infos[i] ?? null);
    } catch (err) {
      // A read must not fail because the queue is briefly unreachable; the position is optional.
      ctx.log.warn("queue_position_unavailable", { pool, shard, ...describeError(err) });
    }
  }
  return out;
}

export async function presentJobs(ctx: PresentContext, rows: JobRow[]): Promise<JobView[]> {
  const succeeded = rows.filter((r) => r.status === "succeeded");
  const [outputs, positions, webhooks] = await Promise.all([
    outputsOfMany(
      createDb(ctx.env.DB),
      succeeded.map((r) => ({ id: r.id, attempt: r.attempt })),
    ),
    jobInfos(ctx, rows),
    latestMessages(
      createDb(ctx.env.DB),
      rows.filter((r) => r.webhookUrl !== null).map((r) => r.id),
    ),
  ]);
  return Promise.all(
    rows.map(async (r) => {
      const info = positions.get(r.id);
      const queued = info?.status === "queued" ? info : undefined;
      return jobView(r, {
        outputs: await outputViews(ctx, r.id, outputs.get(r.id) ?? []),
        queuePosition: queued?.position ?? null,
        waitingFor: queued?.waitingFor ?? null,
        estimatedStartSeconds: queued?.estimatedStartSeconds ?? null,
        estimatedFinishSeconds: info?.estimatedFinishSeconds ?? null,
        latestWebhookMessage: webhooks.get(r.id),
      });
    }),
  );
}

export async function presentJob(ctx: PresentContext, row: JobRow): Promise<JobView> {
  return (await presentJobs(ctx, [row]))[0]!;
}

/**
 * The job as a webhook payload carries it: the same bytes on every attempt of one message. Its
 * output URLs are signed as of `signedAt` (fixed per message), its webhook status is the message's
 * own at the event (pending), and nothing that moves with time (queue position, estimates) is in it.
 */
export async function presentEventJob(ctx: PresentContext, row: JobRow, signedAt: number): Promise<JobView> {
  const outputs = row.status === "succeeded" ? ((await outputsOfMany(createDb(ctx.env.DB), [{ id: row.id, attempt: row.attempt }])).get(row.id) ?? []) : [];
  return jobView(row, {
    outputs: await outputViews(ctx, row.id, outputs, signedAt),
    queuePosition: null,
    latestWebhookMessage: { state: "pending", attempts: 0, step: 0 },
  });
}
