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
import { createDb } from "../db/client.ts";
import type { Env } from "../env.ts";
import { allPoolNames } from "../pools/pools.ts";
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

async function probePool(env: Env, pool: string): Promise<z.infer<typeof PoolSchema>> {
  try {
    const s = await env.DISPATCHER.getByName(pool).status();
    const live = s.live_hosts > 0;
    return {
      status: live ? "ok" : "down",
      ...(live ? {} : { detail: s.hosts.length === 0 ? "no GPU host is registered" : "no registered GPU host is live and ready" }),
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
    };
  }
}

type Health = z.infer<typeof HealthSchema> & { components: NonNullable<z.infer<typeof HealthSchema>["components"]> };

async function measure(env: Env, defaultPool: string): Promise<Health> {
  const database = await probeDatabase(env.DB);
  // Every pool: DEFAULT_POOL, the created ones and any a host is in (src/pools/pools.ts).
  const poolNames = database.status === "ok" ? await allPoolNames(createDb(env.DB), defaultPool) : [defaultPool];
  const pools = Object.fromEntries(await Promise.all(poolNames.map(async (p) => [p, await probePool(env, p)] as const)));
  const poolsOk = Object.values(pools).some((p) => p.status === "ok");
  const status: "ok" | "down" = database.status === "ok" && poolsOk ? "ok" : "down";
  const reasons = [...(database.status === "ok" ? [] : ["the database is not answering"]), ...(poolsOk ? [] : ["no GPU host is ready to run jobs"])];
  return { status, ...(reasons.length > 0 ? { reasons } : {}), components: { edge: { status: "ok" as const }, database, pools } };
}

let cached: { at: number; health: Promise<Health> } | undefined;

/** The public answer, shared by every request of this isolate for HEALTH_CACHE_SECONDS. */
function publicHealth(env: Env, defaultPool: string, ttlMs: number, now = Date.now()): Promise<Health> {
  if (!cached || now - cached.at >= ttlMs) {
    const health = measure(env, defaultPool);
    cached = { at: now, health };
    // A failed measurement is not kept.
    health.catch(() => (cached = undefined));
  }
  return cached.health;
}

export const healthRoutes = newRouter().openapi(health, async (c) => {
  const admin = await isAdmin(c.req.header("Authorization"), c.var.config.ADMIN_TOKEN);
  const { DEFAULT_POOL, HEALTH_CACHE_SECONDS } = c.var.config;
  const full = admin ? await measure(c.env, DEFAULT_POOL) : await publicHealth(c.env, DEFAULT_POOL, HEALTH_CACHE_SECONDS * 1000);
  if (full.status !== "ok")
    c.var.log.warn("health_down", {
      database: full.components.database.detail,
      pools: Object.fromEntries(Object.entries(full.components.pools).map(([k, v]) => [k, v.detail])),
    });
  c.header("Cache-Control", "no-store");
  const body = admin ? full : { status: full.status, ...(full.reasons ? { reasons: full.reasons } : {}) };
  return full.status === "ok" ? c.json(body, 200) : c.json(body, 503);
});
