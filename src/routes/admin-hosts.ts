/**
 * `/v1/admin/hosts`: register GPU hosts (credentials shown once), list them with their live
 * state, drain, resume and remove them. Registration is D1 (durable config); live state is the
 * pool's Dispatcher.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { issueBootstrapToken } from "../db/bootstrap-tokens.ts";
import { createDb } from "../db/client.ts";
import { deleteHost, getHost, listHosts, updateHost } from "../db/hosts.ts";
import type { GpuHostRow } from "../db/schema.ts";
import { dispatcherOfHost, poolStatusOf } from "../dispatch/route.ts";
import type { HostStatus } from "../dispatch/types.ts";
import { previousSecretLive, rotateHostSecret } from "../hosts/host-secrets.ts";
import { registerHost } from "../hosts/register.ts";
import { ProblemError } from "../http/problem.ts";
import { checkHostUrl } from "../lib/outbound-allow.ts";
import { POOL_NAME_RE, POOL_NAME_RULE } from "../pools/name.ts";
import { allPoolShards, findPool } from "../pools/pools.ts";
import { hostId } from "../protocol/messages.ts";
import { commonProblems, conflictProblem, notFoundProblem } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

const RegisterHostBody = z
  .object({
    id: hostId.openapi({ example: "gpu-a100-1" }),
    url: z.string().max(2048).openapi({
      description: "Where the edge reaches the host's gpu-backend: https with a hostname (a DNS record or a Cloudflare Tunnel).",
      example: "https://gpu-a100-1.example.com",
    }),
    slots: z.number().int().min(1).max(64).default(1).openapi({ description: "Jobs the host runs at once (one more is prepared ahead)." }),
    pool: z
      .string()
      .regex(POOL_NAME_RE, `a pool name: ${POOL_NAME_RULE}`)
      .optional()
      .openapi({ description: "The GPU pool it serves (it must exist: GET /v1/admin/pools); DEFAULT_POOL when omitted." }),
  })
  .strict()
  .openapi("RegisterHost");

const HostSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    pool: z.string(),
    dispatcher_shard: z
      .number()
      .int()
      .openapi({ description: "The pool's Dispatcher shard the host belongs to (0 in a pool of one shard); set at registration, never changed." }),
    slots: z.number().int(),
    created_at: z.string(),
    draining: z.boolean(),
    live: z.boolean().openapi({ description: "Heartbeat within HOST_HEARTBEAT_TIMEOUT_SECONDS and its ComfyUI not down (`comfy` says which state it is in)." }),
    comfy: z.string().openapi({ description: "ComfyUI state reported by the host: starting, ready or down." }),
    assigned: z.number().int().openapi({ description: "Jobs currently dispatched to it." }),
    lock_hash: z.string().nullable(),
    lock_ok: z.boolean().openapi({ description: "False when EXPECTED_LOCK_HASH is set and the host reports another one: it gets no work." }),
    version: z.string().nullable(),
    last_heartbeat_at: z.string().nullable(),
    catalog_hash: z.string().nullable().openapi({ description: "Hash of the catalog (object_info + models) the host last published or heartbeat named." }),
    catalog_known: z.boolean().openapi({ description: "Whether the edge holds that catalog (false: the host is asked to publish it again)." }),
    resident_models: z.array(z.string()).openapi({ description: 'Models in VRAM per the last heartbeat ("folder/name"); empty when the host does not say.' }),
    edge_kids: z.array(z.string()).nullable().openapi({
      description:
        "The edge key ids the host pins per its last heartbeat (null: it does not say). During an EDGE_SIGNING_KEY rollover, every host must pin the next key before it signs.",
    }),
    previous_secret_expires_at: z
      .string()
      .nullable()
      .openapi({ description: "During a secret rotation: when the host's previous secret stops being accepted (null: only the current one is)." }),
  })
  .openapi("GpuHost");

const RegisteredHostSchema = HostSchema.extend({
  secret: z.string().openapi({ description: "The host's signing secret (HOST_SECRET for gpu-backend). Shown only here." }),
  edge_jwks: z
    .object({ keys: z.array(z.record(z.string(), z.unknown())) })
    .openapi({ description: "Public keys the host pins (EDGE_JWKS) to verify the edge." }),
});

const HostIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});
const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });
const admin = { tags: ["admin"], security: adminSecurity, middleware: [requireAdmin] };

const registerRoute = createRoute({
  ...admin,
  method: "post",
  path: "/",
  summary: "Register a GPU host",
  request: { body: { required: true, content: { "application/json": { schema: RegisterHostBody } } } },
  responses: { 201: json("The host and its credentials (shown once)", RegisteredHostSchema), ...commonProblems, ...conflictProblem },
});
const listRoute = createRoute({
  ...admin,
  method: "get",
  path: "/",
  summary: "List GPU hosts with their live state",
  responses: { 200: json("Hosts", z.object({ data: z.array(HostSchema) })), ...commonProblems },
});
const drainRoute = createRoute({
  ...admin,
  method: "post",
  path: "/{id}/drain",
  summary: "Stop sending work to a host (jobs on it finish)",
  request: { params: HostIdParam },
  responses: { 200: json("The host", HostSchema), ...commonProblems, ...notFoundProblem },
});
const resumeRoute = createRoute({
  ...admin,
  method: "post",
  path: "/{id}/resume",
  summary: "Send work to a drained host again",
  request: { params: HostIdParam },
  responses: { 200: json("The host", HostSchema), ...commonProblems, ...notFoundProblem },
});
const removeRoute = createRoute({
  ...admin,
  method: "delete",
  path: "/{id}",
  summary: "Remove a host; its jobs go back to the queue",
  request: { params: HostIdParam },
  responses: { 200: json("Removed", z.object({ id: z.string(), requeued: z.number().int() })), ...commonProblems, ...notFoundProblem },
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function hostView(row: GpuHostRow, live: HostStatus | undefined) {
  return {
    id: row.id,
    url: row.url,
    pool: row.pool,
    dispatcher_shard: row.dispatcherShard,
    slots: row.slots,
    created_at: new Date(row.createdAt).toISOString(),
    draining: row.drainingAt !== null,
    live: live?.live ?? false,
    comfy: live?.comfy ?? "unknown",
    assigned: live?.assigned ?? 0,
    lock_hash: live?.lock_hash ?? null,
    lock_ok: live?.lock_ok ?? false,
    version: live?.version ?? null,
    last_heartbeat_at: iso(live?.last_heartbeat_at ?? null),
    catalog_hash: live?.catalog_hash ?? null,
    catalog_known: live?.catalog_known ?? false,
    resident_models: live?.resident_models ?? [],
    edge_kids: live?.edge_kids ?? null,
    previous_secret_expires_at: previousSecretLive(row, Date.now()) ? iso(row.previousSecretExpiresAt) : null,
  };
}

const BootstrapTokenBody = z
  .object({
    ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(86_400)
      .optional()
      .openapi({ description: "How long the token is valid (60 s to a day); BOOTSTRAP_TOKEN_TTL_SECONDS when omitted." }),
  })
  .strict()
  .openapi("CreateBootstrapToken");
const BootstrapTokenSchema = z
  .object({
    host_id: z.string(),
    token: z.string().openapi({ description: "Put it in the host's environment as BOOTSTRAP_TOKEN; it is shown only here and works once." }),
    expires_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("BootstrapToken");
const bootstrapTokenRoute = createRoute({
  ...admin,
  method: "post",
  path: "/{id}/bootstrap-tokens",
  summary: "Issue a one-time bootstrap token for a host (instead of giving it its secret)",
  description:
    "The host trades the token once, at POST /v1/hosts/bootstrap, for its HOST_SECRET and EDGE_JWKS, so a launch template needs no long-lived secret. " +
    "The token expires after `ttl_seconds` and is useless after its first use.",
  request: { params: HostIdParam, body: { required: false, content: { "application/json": { schema: BootstrapTokenBody } } } },
  responses: { 201: json("The token (shown once)", BootstrapTokenSchema), ...commonProblems, ...notFoundProblem },
});

const MIN_OVERLAP_SECONDS = 60;
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;
const RotateSecretBody = z
  .object({
    overlap_seconds: z
      .number()
      .int()
      .min(MIN_OVERLAP_SECONDS, `overlap_seconds must be at least ${MIN_OVERLAP_SECONDS} (time for the host to restart with the new secret)`)
      .max(MAX_OVERLAP_SECONDS, `overlap_seconds must be at most ${MAX_OVERLAP_SECONDS} (7 days)`)
      .optional()
      .openapi({ description: "How long the previous secret stays valid beside the new one (60 s to 7 days); HOST_SECRET_OVERLAP_SECONDS when omitted." }),
  })
  .strict()
  .openapi("RotateHostSecret");
const RotatedSecretSchema = z
  .object({
    host_id: z.string(),
    secret: z.string().openapi({ description: "The host's new HOST_SECRET. Shown only here; restart the host with it before the overlap ends." }),
    previous_secret_expires_at: z
      .string()
      .openapi({ format: "date-time", description: "Until then the previous secret is accepted too; after it, only the new one." }),
  })
  .openapi("RotatedHostSecret");
const rotateSecretRoute = createRoute({
  ...admin,
  method: "post",
  path: "/{id}/secret",
  summary: "Issue a new secret for a host (shown once); the previous one keeps working for an overlap",
  description:
    "The host signs with the new secret once restarted with it (HOST_SECRET; or HOST_SECRET=new and HOST_SECRET_PREVIOUS=old to sign with both). " +
    "Until `previous_secret_expires_at` the edge accepts both, so no request fails during the switch. A second rotation ends the first one's overlap: only the secret it replaces stays valid.",
  request: { params: HostIdParam, body: { required: false, content: { "application/json": { schema: RotateSecretBody } } } },
  responses: { 201: json("The new secret (shown once)", RotatedSecretSchema), ...commonProblems, ...notFoundProblem, ...conflictProblem },
});

const hostNotFound = (id: string) => new ProblemError("not-found", `No GPU host ${id}.`);

export const adminHostRoutes = newRouter()
  .openapi(registerRoute, async (c) => {
    const body = c.req.valid("json");
    const why = checkHostUrl(body.url, c.var.config.ENVIRONMENT === "production");
    if (why) {
      throw new ProblemError("validation-failed", `url ${why}.`, { extensions: { errors: [{ pointer: "/url", detail: why }] } });
    }
    const db = createDb(c.env.DB);
    const pool = body.pool ?? c.var.config.DEFAULT_POOL;
    const found = await findPool(db, c.var.config, pool);
    if (!found) {
      throw new ProblemError("unknown-pool", `There is no GPU pool "${pool}"; create it with POST /v1/admin/pools first.`, {
        extensions: { pool, errors: [{ pointer: "/pool", detail: "no such pool" }] },
      });
    }
    if (await getHost(db, body.id)) throw new ProblemError("conflict", `A GPU host ${body.id} is already registered; remove it first or pick another id.`);
    const { row, credentials } = await registerHost(
      c.env,
      db,
      c.var.config,
      { id: body.id, pool, url: body.url, slots: body.slots, poolShards: found.dispatcher_shards },
      Date.now(),
    );
    c.var.log.info("host_registered", { host_id: row.id, pool: row.pool });
    return c.json({ ...hostView(row, undefined), secret: credentials.secret, edge_jwks: credentials.edgeJwks }, 201);
  })
  .openapi(listRoute, async (c) => {
    const db = createDb(c.env.DB);
    const [rows, pools] = await Promise.all([listHosts(db), allPoolShards(db, c.var.config.DEFAULT_POOL)]);
    const live = new Map<string, HostStatus>();
    const statuses = await Promise.all(pools.map((pool) => poolStatusOf(c.env, pool)));
    for (const s of statuses) for (const h of s.hosts) live.set(h.id, h);
    return c.json({ data: rows.map((r) => hostView(r, live.get(r.id))) }, 200);
  })
  .openapi(drainRoute, async (c) => {
    const { id } = c.req.valid("param");
    const row = await updateHost(createDb(c.env.DB), id, { drainingAt: Date.now(), updatedAt: Date.now() });
    if (!row) throw hostNotFound(id);
    const stub = dispatcherOfHost(c.env, row);
    await stub.setDraining(id, true);
    c.var.log.info("host_draining", { host_id: id });
    return c.json(
      hostView(
        row,
        (await stub.status()).hosts.find((h) => h.id === id),
      ),
      200,
    );
  })
  .openapi(resumeRoute, async (c) => {
    const { id } = c.req.valid("param");
    const row = await updateHost(createDb(c.env.DB), id, { drainingAt: null, updatedAt: Date.now() });
    if (!row) throw hostNotFound(id);
    const stub = dispatcherOfHost(c.env, row);
    await stub.registerHost({ id: row.id, url: row.url, slots: row.slots });
    await stub.setDraining(id, false);
    return c.json(
      hostView(
        row,
        (await stub.status()).hosts.find((h) => h.id === id),
      ),
      200,
    );
  })
  .openapi(bootstrapTokenRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json") ?? {};
    const db = createDb(c.env.DB);
    if (!(await getHost(db, id))) throw hostNotFound(id);
    const ttl = (body.ttl_seconds ?? c.var.config.BOOTSTRAP_TOKEN_TTL_SECONDS) * 1000;
    const { token, expiresAt } = await issueBootstrapToken(db, id, ttl, Date.now());
    c.var.log.info("host_bootstrap_token_issued", { host_id: id, expires_at: expiresAt });
    c.header("Cache-Control", "no-store");
    return c.json({ host_id: id, token, expires_at: new Date(expiresAt).toISOString() }, 201);
  })
  .openapi(rotateSecretRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json") ?? {};
    const db = createDb(c.env.DB);
    const host = await getHost(db, id);
    if (!host) throw hostNotFound(id);
    const overlapMs = (body.overlap_seconds ?? c.var.config.HOST_SECRET_OVERLAP_SECONDS) * 1000;
    const result = await rotateHostSecret(db, c.var.config, host, overlapMs, Date.now());
    if (!result.ok) {
      // "raced": another rotation (or a removal) changed the row since it was read.
      throw new ProblemError("conflict", `Host ${id}'s secret was changed by another request at the same time; list the hosts and rotate again if needed.`);
    }
    const expiresAt = result.row.previousSecretExpiresAt ?? 0;
    // Never the secret itself: it is in this answer only.
    c.var.log.info("host_secret_rotated", { host_id: id, previous_secret_expires_at: expiresAt });
    c.header("Cache-Control", "no-store");
    return c.json({ host_id: id, secret: result.secret, previous_secret_expires_at: new Date(expiresAt).toISOString() }, 201);
  })
  .openapi(removeRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = createDb(c.env.DB);
    const row = await getHost(db, id);
    if (!row) throw hostNotFound(id);
    const requeued = await dispatcherOfHost(c.env, row).removeHost(id);
    await deleteHost(db, id);
    c.var.log.info("host_removed", { host_id: id, requeued });
    return c.json({ id, requeued }, 200);
  });
