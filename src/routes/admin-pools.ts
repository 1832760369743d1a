/**
 * `/v1/admin/pools`: create, list, read and change GPU pools. A pool is a row in D1 (durable
 * config: description, GPU, queue timeout) and its Dispatcher shards (live state: hosts, queue;
 * src/dispatch/route.ts), whose status is read from all of them and summed. DEFAULT_POOL always
 * exists (src/pools/pools.ts); pools are never deleted, and their shard count never goes down.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import type { Autoscaling, AutoscalingInput } from "../capacity/settings.ts";
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import { recentInstances } from "../db/instances.ts";
import { insertPool, type PoolPatch, updatePool } from "../db/pools.ts";
import type { PoolRow } from "../db/schema.ts";
import { poolCatalogOf, poolSettingsChangedAll, poolStatusOf } from "../dispatch/route.ts";
import type { PoolStatus } from "../dispatch/types.ts";
import type { Env } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import type { Logger } from "../lib/log.ts";
import { describeError } from "../lib/log.ts";
import { checkHostUrl } from "../lib/outbound-allow.ts";
import { checkPinned } from "../models/pinned.ts";
import { findPool, listPools, type Pool, type PoolShards, poolOf } from "../pools/pools.ts";
import { CreatePoolBody, PatchPoolBody, PoolNameParam, PoolSchema } from "./admin.schemas.ts";
import { commonProblems, conflictProblem, notFoundProblem } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });
const admin = { tags: ["admin"], security: adminSecurity, middleware: [requireAdmin] };

const createPool = createRoute({
  ...admin,
  method: "post",
  path: "/",
  summary: "Create a GPU pool",
  request: { body: { required: true, content: { "application/json": { schema: CreatePoolBody } } } },
  responses: { 201: json("The pool", PoolSchema), ...commonProblems, ...conflictProblem },
});
const listPoolsRoute = createRoute({
  ...admin,
  method: "get",
  path: "/",
  summary: "List GPU pools with their live state",
  responses: { 200: json("Pools", z.object({ data: z.array(PoolSchema) })), ...commonProblems },
});
const readPool = createRoute({
  ...admin,
  method: "get",
  path: "/{name}",
  summary: "Get a GPU pool with its hosts and queue",
  request: { params: PoolNameParam },
  responses: { 200: json("The pool", PoolSchema), ...commonProblems, ...notFoundProblem },
});
const patchPool = createRoute({
  ...admin,
  method: "patch",
  path: "/{name}",
  summary: "Change a pool's settings (never its name; dispatcher_shards only upwards)",
  request: { params: PoolNameParam, body: { required: true, content: { "application/json": { schema: PatchPoolBody } } } },
  responses: { 200: json("The pool", PoolSchema), ...commonProblems, ...notFoundProblem, ...conflictProblem },
});

const HostIds = z.array(z.string());
const PoolCatalogSchema = z
  .object({
    hosts: z.array(z.object({ id: z.string(), catalog_hash: z.string() })),
    hosts_without_catalog: HostIds.openapi({ description: "Live hosts whose catalog the edge does not hold (yet)." }),
    catalogs: z.number().int().openapi({ description: "Distinct catalogs among the live hosts." }),
    classes: z.record(z.string(), HostIds).openapi({ description: "Node class → the live hosts that have it." }),
    models: z.record(z.string(), z.record(z.string(), HostIds)).openapi({ description: "Model folder → file name → the live hosts that have it." }),
  })
  .openapi("PoolCatalog", { description: "The union of the catalogs of a pool's live hosts." });
const readPoolCatalog = createRoute({
  ...admin,
  method: "get",
  path: "/{name}/catalog",
  summary: "What a pool's live hosts can run: node classes and model files, each with its hosts",
  request: { params: PoolNameParam },
  responses: { 200: json("The pool's catalog", PoolCatalogSchema), ...commonProblems, ...notFoundProblem },
});

const InstanceSchema = z
  .object({
    id: z.string(),
    host_id: z.string(),
    provider: z.string(),
    provider_id: z.string().nullable(),
    state: z.string().openapi({ description: "launching, booting, ready, draining, terminating or terminated." }),
    launched_at: z.string(),
    ready_at: z.string().nullable(),
    draining_at: z.string().nullable(),
    terminated_at: z.string().nullable(),
    terminate_reason: z
      .string()
      .nullable()
      .openapi({ description: "drained (idle), boot-timeout, over-max, vanished (gone at the provider), stopped, launch-failed, …" }),
    cold_start_seconds: z.number().nullable().openapi({ description: "From launch to ready (ComfyUI up and heartbeating)." }),
    billed_seconds: z.number().nullable().openapi({ description: "From launch to termination, booting included (null: still running)." }),
    cost_per_hour: z.number().nullable().openapi({ description: "What the provider said it charges, USD per hour." }),
  })
  .openapi("GpuInstance");
const readInstances = createRoute({
  ...admin,
  method: "get",
  path: "/{name}/instances",
  summary: "The GPU instances the autoscaler launched for a pool (newest first), and its state",
  request: { params: PoolNameParam },
  responses: {
    200: json(
      "Instances",
      z.object({
        data: z.array(InstanceSchema),
        scaler: z.object({
          autoscaled: z.boolean(),
          consecutive_failures: z.number().int(),
          backoff_until: z.string().nullable(),
          last_error: z.string().nullable(),
          last_tick_at: z.string().nullable(),
        }),
      }),
    ),
    ...commonProblems,
    ...notFoundProblem,
  },
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function liveStatus(env: Env, log: Logger, pool: PoolShards): Promise<PoolStatus | null> {
  try {
    return await poolStatusOf(env, pool);
  } catch (err) {
    log.warn("pool_status_unavailable", { pool: pool.name, ...describeError(err) });
    return null;
  }
}

function poolView(pool: Pool, config: Config, live: PoolStatus | null) {
  return {
    name: pool.name,
    description: pool.description,
    gpu: pool.gpu,
    queue_timeout_seconds: pool.queue_timeout_seconds,
    effective_queue_timeout_seconds: pool.queue_timeout_seconds ?? config.QUEUED_TIMEOUT_SECONDS,
    model_files: pool.model_files,
    pinned_models: pool.pinned_models,
    previews: pool.previews,
    autoscaling: pool.autoscaling,
    price_per_gpu_second: pool.price_per_gpu_second,
    dispatcher_shards: pool.dispatcher_shards,
    is_default: pool.name === config.DEFAULT_POOL,
    created_at: iso(pool.created_at),
    updated_at: iso(pool.updated_at),
    status:
      live === null
        ? null
        : {
            hosts: live.hosts.map((h) => ({
              id: h.id,
              live: h.live,
              draining: h.draining,
              comfy: h.comfy,
              lock_ok: h.lock_ok,
              slots: h.slots,
              assigned: h.assigned,
            })),
            live_hosts: live.live_hosts,
            free_slots: live.free_slots,
            running: live.running,
            queue_depth: live.queue_depth,
            oldest_queued_at: iso(live.oldest_queued_at),
          },
  };
}

/** A new pool row's settings before the request's own: all unset (the deployment's defaults apply). */
const UNSET = {
  description: null,
  gpuModel: null,
  gpuVramGb: null,
  queueTimeoutSeconds: null,
  modelFiles: null,
  pinnedModels: null,
  previews: null,
  autoscaling: null,
  pricePerGpuSecond: null,
  // Not nullable: one shard is what a pool without the setting has.
  dispatcherShards: 1,
} as const;

/**
 * The autoscaling settings to store: defaults filled in, launched hosts' EDGE_URL resolved (the
 * origin the operator called, unless given), and the provider usable in this deployment.
 */
function autoscalingColumn(input: z.infer<typeof AutoscalingInput>, config: Config, origin: string): Autoscaling {
  const refuse = (detail: string, pointer: string) =>
    new ProblemError("validation-failed", detail, { extensions: { errors: [{ pointer: `/autoscaling${pointer}`, detail }] } });
  if (input.provider === "runpod" && !config.RUNPOD_API_KEY)
    throw refuse("provider runpod needs the RUNPOD_API_KEY secret set on the Worker (wrangler secret put RUNPOD_API_KEY).", "/provider");
  if (input.provider === "local" && (config.ENVIRONMENT === "production" || !config.LOCAL_PROVIDER_URL)) {
    throw refuse(
      "provider local runs hosts as processes on a development machine: it needs LOCAL_PROVIDER_URL and is not available in production.",
      "/provider",
    );
  }
  const edgeUrl = (input.edge_url ?? origin).replace(/\/+$/, "");
  const why = checkHostUrl(edgeUrl, config.ENVIRONMENT === "production");
  if (why) throw refuse(`edge_url ${why}.`, "/edge_url");
  return { ...input, edge_url: edgeUrl };
}

function patchColumns(body: z.infer<typeof PatchPoolBody>, config: Config, origin: string): PoolPatch {
  const out: PoolPatch = {};
  if (body.autoscaling !== undefined) out.autoscaling = body.autoscaling === null ? null : autoscalingColumn(body.autoscaling, config, origin);
  if (body.price_per_gpu_second !== undefined) out.pricePerGpuSecond = body.price_per_gpu_second;
  if (body.description !== undefined) out.description = body.description || null;
  if (body.gpu !== undefined) {
    out.gpuModel = body.gpu?.model ?? null;
    out.gpuVramGb = body.gpu?.vram_gb ?? null;
  }
  if (body.queue_timeout_seconds !== undefined) out.queueTimeoutSeconds = body.queue_timeout_seconds;
  if (body.model_files !== undefined) out.modelFiles = body.model_files;
  if (body.pinned_models !== undefined) out.pinnedModels = [...new Set(body.pinned_models)];
  if (body.previews !== undefined) out.previews = body.previews;
  if (body.dispatcher_shards !== undefined) out.dispatcherShards = body.dispatcher_shards;
  return out;
}

/**
 * A change of dispatcher_shards may only raise it: a shard's hosts and queued jobs live in that
 * shard's object, and a lower count would stop addressing them (D1 would still send the host and
 * the jobs there, but no pool-wide read, cron or steal would see them).
 */
const shardsLowered = (name: string, from: number, to: number) =>
  new ProblemError(
    "conflict",
    `Pool ${name} has dispatcher_shards ${from}; it can only be raised (asked: ${to}): hosts and queued jobs live in the shards that would be dropped.`,
    { extensions: { errors: [{ pointer: "/dispatcher_shards", detail: `must be at least ${from}` }] } },
  );

const poolNotFound = (name: string) => new ProblemError("not-found", `No GPU pool ${name}; GET /v1/admin/pools lists them.`);

export const adminPoolRoutes = newRouter()
  .openapi(createPool, async (c) => {
    const body = c.req.valid("json");
    const { config } = c.var;
    const db = createDb(c.env.DB);
    await checkPinned(db, body.pinned_models);
    const taken = () =>
      new ProblemError(
        "conflict",
        body.name === config.DEFAULT_POOL
          ? `Pool ${body.name} is DEFAULT_POOL, which always exists; change it with PATCH /v1/admin/pools/${body.name}.`
          : `A pool ${body.name} already exists; pool names are unique and never reused.`,
      );
    if (await findPool(db, config, body.name)) throw taken();
    const now = Date.now();
    const row = {
      name: body.name,
      ...UNSET,
      ...patchColumns(body, config, new URL(c.req.url).origin),
      createdAt: now,
      updatedAt: now,
    };
    try {
      await insertPool(db, row);
    } catch (err) {
      // Two creates of one name at once: the primary key decides.
      if (/UNIQUE constraint failed: pools\.name/.test(`${String(err)} ${String((err as Error).cause ?? "")}`)) throw taken();
      throw err;
    }
    c.var.log.info("pool_created", { pool: row.name });
    if (row.autoscaling) await c.env.POOL_SCALER.getByName(row.name).settingsChanged();
    const pool = poolOf(row);
    // Its shards learn how many they are (stealing needs it; the cron tells them again).
    if (pool.dispatcher_shards > 1) {
      try {
        await poolSettingsChangedAll(c.env, pool);
      } catch (err) {
        c.var.log.warn("pool_settings_not_forwarded", { pool: pool.name, ...describeError(err) });
      }
    }
    c.header("Location", `/v1/admin/pools/${row.name}`);
    return c.json(poolView(pool, config, await liveStatus(c.env, c.var.log, pool)), 201);
  })
  .openapi(listPoolsRoute, async (c) => {
    const pools = await listPools(createDb(c.env.DB), c.var.config);
    const lives = await Promise.all(pools.map((p) => liveStatus(c.env, c.var.log, p)));
    return c.json({ data: pools.map((p, i) => poolView(p, c.var.config, lives[i] ?? null)) }, 200);
  })
  .openapi(readPool, async (c) => {
    const { name } = c.req.valid("param");
    const pool = await findPool(createDb(c.env.DB), c.var.config, name);
    if (!pool) throw poolNotFound(name);
    return c.json(poolView(pool, c.var.config, await liveStatus(c.env, c.var.log, pool)), 200);
  })
  .openapi(readInstances, async (c) => {
    const { name } = c.req.valid("param");
    const db = createDb(c.env.DB);
    if (!(await findPool(db, c.var.config, name))) throw poolNotFound(name);
    const [rows, scaler] = await Promise.all([recentInstances(db, name, 100), c.env.POOL_SCALER.getByName(name).status()]);
    const seconds = (from: number | null, to: number | null) => (from === null || to === null ? null : Math.round((to - from) / 100) / 10);
    return c.json(
      {
        data: rows.map((r) => ({
          id: r.id,
          host_id: r.hostId,
          provider: r.provider,
          provider_id: r.providerId,
          state: r.state,
          launched_at: new Date(r.launchedAt).toISOString(),
          ready_at: iso(r.readyAt),
          draining_at: iso(r.drainingAt),
          terminated_at: iso(r.terminatedAt),
          terminate_reason: r.terminateReason,
          cold_start_seconds: seconds(r.launchedAt, r.readyAt),
          billed_seconds: seconds(r.launchedAt, r.terminatedAt),
          cost_per_hour: r.costPerHour,
        })),
        scaler: {
          autoscaled: scaler.autoscaled,
          consecutive_failures: scaler.consecutive_failures,
          backoff_until: iso(scaler.backoff_until),
          last_error: scaler.last_error,
          last_tick_at: iso(scaler.last_tick_at),
        },
      },
      200,
    );
  })
  .openapi(readPoolCatalog, async (c) => {
    const { name } = c.req.valid("param");
    const pool = await findPool(createDb(c.env.DB), c.var.config, name);
    if (!pool) throw poolNotFound(name);
    return c.json(await poolCatalogOf(c.env, pool), 200);
  })
  .openapi(patchPool, async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    const { config } = c.var;
    const db = createDb(c.env.DB);
    await checkPinned(db, body.pinned_models);
    const patch = { ...patchColumns(body, config, new URL(c.req.url).origin), updatedAt: Date.now() };
    const shards = body.dispatcher_shards;
    if (shards !== undefined) {
      const current = await findPool(db, config, name);
      if (!current) throw poolNotFound(name);
      if (shards < current.dispatcher_shards) throw shardsLowered(name, current.dispatcher_shards, shards);
    }
    // The update itself refuses to lower it too, so two changes at once cannot get past the check above.
    const update = async (): Promise<PoolRow | undefined> => {
      const updated = await updatePool(db, name, patch, shards);
      if (updated || shards === undefined) return updated;
      const now = await findPool(db, config, name);
      if (now && shards < now.dispatcher_shards) throw shardsLowered(name, now.dispatcher_shards, shards);
      return undefined;
    };
    let row = await update();
    if (!row && name === config.DEFAULT_POOL) {
      // DEFAULT_POOL's first change gives it a row (a concurrent first change may have made it).
      const now = patch.updatedAt;
      try {
        await insertPool(db, {
          name,
          ...UNSET,
          ...patch,
          createdAt: now,
        });
      } catch {
        // The other change won the insert; apply this one over it.
      }
      row = await update();
    }
    if (!row) throw poolNotFound(name);
    c.var.log.info("pool_updated", { pool: name, fields: Object.keys(body) });
    // The pool's Dispatcher shards keep some settings for a few seconds (previews, the shard count
    // stealing asks): they read them again now; its PoolScaler acts on autoscaling at once (turned
    // on: launches what min_hosts needs; off: winds down).
    const pool = poolOf(row);
    try {
      if (body.autoscaling !== undefined) await c.env.POOL_SCALER.getByName(name).settingsChanged();
      await poolSettingsChangedAll(c.env, pool);
    } catch (err) {
      c.var.log.warn("pool_settings_not_forwarded", { pool: name, ...describeError(err) });
    }
    return c.json(poolView(pool, config, await liveStatus(c.env, c.var.log, pool)), 200);
  });
