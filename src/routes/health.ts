/**
 * `GET /health`: 200 when the service can take and run jobs (D1 answers and at least one pool has
 * a live GPU host), 503 with the reasons when it cannot.
 *
 * Public, so it says little: `status` and, when down, reasons in general terms. Pools, hosts,
 * queue depths and latencies are for operators: sent only with `Authorization: Bearer
 * $ADMIN_TOKEN`. The public answer is computed at most once per HEALTH_CACHE_SECONDS per isolate,
 * so hammering it cannot turn into D1 and Durable Object load.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { isAdmin } from "../auth/admin.ts";
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import { recentColdStartsMs } from "../db/gpu-usage.ts";
import { poolStatusOf } from "../dispatch/route.ts";
import type { Env } from "../env.ts";
import { allPoolNames, listPools, type Pool } from "../pools/pools.ts";
import { commonProblems } from "./problem.schemas.ts";
import { newRouter } from "./router.ts";

const ComponentSchema = z.object({
  status: z.enum(["ok", "down"]),
  latency_ms: z.number().optional(),
  detail: z.string().optional(),
});

const PoolSchema = z.object({
  status: z.enum(["ok", "down"]),
  detail: z.string().optional(),
  hosts: z.number().int().openapi({ description: "Registered hosts." }),
  live_hosts: z.number().int().openapi({ description: "Hosts that heartbeat, run ComfyUI, are not draining and have the expected lock hash." }),
  free_slots: z.number().int(),
  running: z.number().int(),
  queue_depth: z.number().int(),
  oldest_queued_age_seconds: z.number().nullable(),
  autoscaled: z.boolean().openapi({ description: "Its hosts are launched on demand: with none up it is still ok (the next job boots one)." }),
  cold_start_p99_seconds: z.number().nullable().openapi({ description: "Of its last 100 autoscaled boots, launch → ready (null: fewer than 5)." }),
  warnings: z.array(z.string()).openapi({ description: "Settings that will hurt, e.g. a queue timeout shorter than the observed cold start." }),
});

const HealthSchema = z
  .object({
    status: z.enum(["ok", "down"]),
    reasons: z.array(z.string()).optional().openapi({ description: "When down: why, in general terms." }),
    components: z
      .object({ edge: ComponentSchema, database: ComponentSchema, pools: z.record(z.string(), PoolSchema) })
      .optional()
      .openapi({ description: "Only with the admin token." }),
  })
  .openapi("Health");

const health = createRoute({
  method: "get",
  path: "/",
  summary: "Service health",
  tags: ["service"],
  responses: {
    200: { description: "Can take and run jobs", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "Cannot; components say why", content: { "application/json": { schema: HealthSchema } } },
    // The body-size guard runs before every route, this one too (a Content-Length that is no number).
    413: commonProblems[413],
  },
});

const DB_TIMEOUT_MS = 2_000;

async function probeDatabase(db: D1Database): Promise<z.infer<typeof ComponentSchema>> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | null = null;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${DB_TIMEOUT_MS} ms`)), DB_TIMEOUT_MS);
    });
    await Promise.race([db.prepare("select 1").first(), timeout]);
    return { status: "ok", latency_ms: Date.now() - started };
  } catch (err) {
    return { status: "down", latency_ms: Date.now() - started, detail: err instanceof Error ? err.message : "query failed" };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** Cold starts taken into account, and the fewest that make a p99 worth a warning. */
const COLD_STARTS = 100;
const MIN_COLD_STARTS = 5;

/** What a pool's settings and recent boots say (autoscaled pools only). */
async function scalingFacts(env: Env, pool: Pool | undefined, queueTimeoutSeconds: number): Promise<{ p99: number | null; warnings: string[] }> {
  if (!pool?.autoscaling) return { p99: null, warnings: [] };
  const samples = (await recentColdStartsMs(createDb(env.DB), pool.name, COLD_STARTS)).sort((a, b) => a - b);
  if (samples.length < MIN_COLD_STARTS) return { p99: null, warnings: [] };
  const p99 = Math.round((samples[Math.min(samples.length - 1, Math.ceil(samples.length * 0.99) - 1)] ?? 0) / 1000);
  const warnings =
    p99 > queueTimeoutSeconds
      ? [
          `its queue timeout (${queueTimeoutSeconds} s) is shorter than its observed cold start p99 (${p99} s): a job that has to wait for a boot may fail with queue_timeout; raise queue_timeout_seconds or keep min_hosts/buffer_hosts warm`,
        ]
      : [];
  return { p99, warnings };
}

async function probePool(env: Env, pool: string, settings: Pool | undefined, queueTimeoutSeconds: number): Promise<z.infer<typeof PoolSchema>> {
  try {
    const shards = { name: pool, dispatcher_shards: settings?.dispatcher_shards ?? 1 };
    const [s, facts] = await Promise.all([poolStatusOf(env, shards), scalingFacts(env, settings, queueTimeoutSeconds)]);
    const autoscaled = (settings?.autoscaling ?? null) !== null;
    const live = s.live_hosts > 0 || autoscaled;
    return {
      status: live ? "ok" : "down",
      ...(live
        ? s.live_hosts === 0
          ? { detail: "scaled to zero: the next job boots a host" }
          : {}
        : { detail: s.hosts.length === 0 ? "no GPU host is registered" : "no registered GPU host is live and ready" }),
      autoscaled,
      cold_start_p99_seconds: facts.p99,
      warnings: facts.warnings,
      hosts: s.hosts.length,
      live_hosts: s.live_hosts,
      free_slots: s.free_slots,
      running: s.running,
      queue_depth: s.queue_depth,
      oldest_queued_age_seconds: s.oldest_queued_at === null ? null : Math.round((Date.now() - s.oldest_queued_at) / 1000),
    };
  } catch (err) {
    return {
      status: "down",
      detail: `the pool's dispatcher did not answer: ${err instanceof Error ? err.message : "error"}`,
      hosts: 0,
      live_hosts: 0,
      free_slots: 0,
      running: 0,
      queue_depth: 0,
      oldest_queued_age_seconds: null,
      autoscaled: (settings?.autoscaling ?? null) !== null,
      cold_start_p99_seconds: null,
      warnings: [],
    };
  }
}

type Health = z.infer<typeof HealthSchema> & { components: NonNullable<z.infer<typeof HealthSchema>["components"]> };

async function measure(env: Env, config: Config): Promise<Health> {
  const database = await probeDatabase(env.DB);
  const db = createDb(env.DB);
  // Every pool: DEFAULT_POOL, the created ones and any a host is in (src/pools/pools.ts).
  const poolNames = database.status === "ok" ? await allPoolNames(db, config.DEFAULT_POOL) : [config.DEFAULT_POOL];
  const settings = new Map(database.status === "ok" ? (await listPools(db, config)).map((p) => [p.name, p]) : []);
  const pools = Object.fromEntries(
    await Promise.all(
      poolNames.map(async (p) => {
        const pool = settings.get(p);
        return [p, await probePool(env, p, pool, pool?.queue_timeout_seconds ?? config.QUEUED_TIMEOUT_SECONDS)] as const;
      }),
    ),
  );
  const poolsOk = Object.values(pools).some((p) => p.status === "ok");
  const status: "ok" | "down" = database.status === "ok" && poolsOk ? "ok" : "down";
  const reasons = [...(database.status === "ok" ? [] : ["the database is not answering"]), ...(poolsOk ? [] : ["no GPU host is ready to run jobs"])];
  return { status, ...(reasons.length > 0 ? { reasons } : {}), components: { edge: { status: "ok" as const }, database, pools } };
}

let cached: { at: number; health: Promise<Health> } | undefined;

/** The public answer, shared by every request of this isolate for HEALTH_CACHE_SECONDS. */
function publicHealth(env: Env, config: Config, ttlMs: number, now = Date.now()): Promise<Health> {
  if (!cached || now - cached.at >= ttlMs) {
    const health = measure(env, config);
    cached = { at: now, health };
    // A failed measurement is not kept.
    health.catch(() => (cached = undefined));
  }
  return cached.health;
}

export const healthRoutes = newRouter().openapi(health, async (c) => {
  const admin = await isAdmin(c.req.header("Authorization"), c.var.config.ADMIN_TOKEN);
  const { config } = c.var;
  const full = admin ? await measure(c.env, config) : await publicHealth(c.env, config, config.HEALTH_CACHE_SECONDS * 1000);
  if (full.status !== "ok")
    c.var.log.warn("health_down", {
      database: full.components.database.detail,
      pools: Object.fromEntries(Object.entries(full.components.pools).map(([k, v]) => [k, v.detail])),
    });
  c.header("Cache-Control", "no-store");
  const body = admin ? full : { status: full.status, ...(full.reasons ? { reasons: full.reasons } : {}) };
  return full.status === "ok" ? c.json(body, 200) : c.json(body, 503);
});
