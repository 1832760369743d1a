/** `/v1/admin/tenants`: create, list, read and change tenants, and mint their API keys. */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { mintApiKey } from "../auth/api-key.ts";
import type { Config } from "../config/schema.ts";
import { insertApiKey, listApiKeys } from "../db/api-keys.ts";
import { createDb, type Db } from "../db/client.ts";
import type { TenantRow } from "../db/schema.ts";
import { getTenant, insertTenant, listTenants, type TenantPatch, updateTenant } from "../db/tenants.ts";
import { dataKeys, secretContext } from "../encryption/columns.ts";
import { ProblemError } from "../http/problem.ts";
import { encryptSecret } from "../lib/crypto.ts";
import { newId } from "../lib/ids.ts";
import { unknownPools } from "../pools/pools.ts";
import { newSecret } from "../protocol/standard-webhooks.ts";
import { jwtColumns, NO_JWT } from "../tenants/jwt-settings.ts";
import { apiKeyView, tenantView } from "../tenants/view.ts";
import {
  ApiKeySchema,
  CreatedApiKeySchema,
  CreatedTenantSchema,
  CreateKeyBody,
  CreateTenantBody,
  ListTenantsQuery,
  PatchTenantBody,
  TenantIdParam,
  TenantListSchema,
  TenantSchema,
} from "./admin.schemas.ts";
import { pageOf, pageStart } from "./pagination.ts";
import { commonProblems, conflictProblem, notFoundProblem } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });
const admin = { tags: ["admin"], security: adminSecurity, middleware: [requireAdmin] };

const createTenant = createRoute({
  ...admin,
  method: "post",
  path: "/",
  summary: "Create a tenant",
  request: { body: { required: true, content: { "application/json": { schema: CreateTenantBody } } } },
  responses: { 201: json("The tenant and its webhook secret (shown once)", CreatedTenantSchema), ...commonProblems, ...conflictProblem },
});

const listTenantsRoute = createRoute({
  ...admin,
  method: "get",
  path: "/",
  summary: "List tenants, newest first",
  description:
    "Cursor-paginated like GET /v1/jobs: pass `next_cursor` back as `cursor` until it is null. Each item is what GET /v1/admin/tenants/{id} returns.",
  request: { query: ListTenantsQuery },
  responses: { 200: json("A page of tenants", TenantListSchema), ...commonProblems },
});

const readTenant = createRoute({
  ...admin,
  method: "get",
  path: "/{id}",
  summary: "Get a tenant",
  request: { params: TenantIdParam },
  responses: { 200: json("The tenant", TenantSchema), ...commonProblems, ...notFoundProblem },
});

const patchTenant = createRoute({
  ...admin,
  method: "patch",
  path: "/{id}",
  summary: "Change a tenant's name, limits or JWT issuer",
  request: { params: TenantIdParam, body: { required: true, content: { "application/json": { schema: PatchTenantBody } } } },
  responses: { 200: json("The tenant", TenantSchema), ...commonProblems, ...notFoundProblem, ...conflictProblem },
});

const createKey = createRoute({
  ...admin,
  method: "post",
  path: "/{id}/keys",
  summary: "Create an API key (the key is shown once)",
  request: { params: TenantIdParam, body: { required: false, content: { "application/json": { schema: CreateKeyBody } } } },
  responses: { 201: json("The key", CreatedApiKeySchema), ...commonProblems, ...notFoundProblem, ...conflictProblem },
});

const listKeys = createRoute({
  ...admin,
  method: "get",
  path: "/{id}/keys",
  summary: "List a tenant's API keys (never their secrets)",
  request: { params: TenantIdParam },
  responses: { 200: json("The keys", z.object({ data: z.array(ApiKeySchema) })), ...commonProblems, ...notFoundProblem },
});

const tenantNotFound = (id: string) => new ProblemError("not-found", `No tenant ${id}.`);

async function requireTenant(db: Db, id: string) {
  const row = await getTenant(db, id);
  if (!row) throw tenantNotFound(id);
  return row;
}

/** A tenant that may still be changed: not being deleted. */
async function requireLiveTenant(db: Db, id: string) {
  const row = await requireTenant(db, id);
  if (row.deletedAt !== null) throw new ProblemError("conflict", `Tenant ${id} is being deleted; it cannot be changed or get keys.`);
  return row;
}

/** D1 reports the unique issuer index as a constraint failure; say what clashed. */
function issuerClash(err: unknown): ProblemError | null {
  const text = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : String(err);
  return /UNIQUE constraint failed: tenants\.jwt_issuer/.test(text)
    ? new ProblemError("conflict", "Another tenant already uses this JWT issuer; issuers must be unique.")
    : null;
}

function limitColumns(limits: z.infer<typeof CreateTenantBody>["limits"]): TenantPatch {
  const out: TenantPatch = {};
  if (!limits) return out;
  if (limits.max_active_jobs_per_user !== undefined) out.maxActiveJobsPerUser = limits.max_active_jobs_per_user;
  if (limits.max_active_jobs_per_tenant !== undefined) out.maxActiveJobsPerTenant = limits.max_active_jobs_per_tenant;
  if (limits.requests_per_minute !== undefined) out.requestsPerMinute = limits.requests_per_minute;
  if (limits.uploads_per_day !== undefined) out.uploadsPerDay = limits.uploads_per_day;
  if (limits.upload_bytes_per_day !== undefined) out.uploadBytesPerDay = limits.upload_bytes_per_day;
  if (limits.model_files !== undefined) out.modelFiles = limits.model_files;
  if (limits.model_bytes !== undefined) out.modelBytes = limits.model_bytes;
  if (limits.gpu_seconds_per_month !== undefined) out.gpuSecondsPerMonth = limits.gpu_seconds_per_month;
  if (limits.retention_days !== undefined) out.retentionDays = limits.retention_days;
  if (limits.storage_bytes !== undefined) out.storageBytes = limits.storage_bytes;
  return out;
}

/**
 * The tenant's pool columns after this create or change, checked: every named pool exists, and the
 * pool a submit without `pool` would use (default_pool, else DEFAULT_POOL) is one it may use.
 */
async function poolColumns(
  db: Db,
  config: Config,
  body: { default_pool?: string | null | undefined; allowed_pools?: string[] | null | undefined },
  current: Pick<TenantRow, "defaultPool" | "allowedPools"> = { defaultPool: null, allowedPools: null },
): Promise<TenantPatch> {
  const defaultPool = body.default_pool === undefined ? current.defaultPool : body.default_pool;
  const allowedPools = body.allowed_pools === undefined ? current.allowedPools : body.allowed_pools && [...new Set(body.allowed_pools)];
  const named = [...(body.default_pool ? [{ pointer: "/default_pool", name: body.default_pool }] : [])];
  for (const [i, name] of (body.allowed_pools ?? []).entries()) named.push({ pointer: `/allowed_pools/${i}`, name });
  const unknown = new Set(await unknownPools(db, config, [...new Set(named.map((n) => n.name))]));
  if (unknown.size > 0) {
    const errors = named.filter((n) => unknown.has(n.name)).map((n) => ({ pointer: n.pointer, detail: `no GPU pool "${n.name}"` }));
    throw new ProblemError(
      "unknown-pool",
      `${[...unknown].map((n) => `"${n}"`).join(", ")} ${unknown.size === 1 ? "is no GPU pool" : "are no GPU pools"}; create pools with POST /v1/admin/pools first.`,
      {
        extensions: { errors },
      },
    );
  }
  const effective = defaultPool ?? config.DEFAULT_POOL;
  if (allowedPools && !allowedPools.includes(effective)) {
    const why = defaultPool
      ? `default_pool "${defaultPool}" is not in allowed_pools`
      : `without a default_pool this tenant's jobs run in DEFAULT_POOL "${effective}", which is not in allowed_pools`;
    throw new ProblemError(
      "validation-failed",
      `${why}; set default_pool to one of ${allowedPools.map((p) => `"${p}"`).join(", ")} or add it to allowed_pools.`,
      {
        extensions: { errors: [{ pointer: body.default_pool !== undefined ? "/default_pool" : "/allowed_pools", detail: why }] },
      },
    );
  }
  const out: TenantPatch = {};
  if (body.default_pool !== undefined) out.defaultPool = body.default_pool;
  if (body.allowed_pools !== undefined) out.allowedPools = allowedPools;
  return out;
}

export const adminTenantRoutes = newRouter()
  .openapi(createTenant, async (c) => {
    const body = c.req.valid("json");
    const { config } = c.var;
    const now = Date.now();
    const jwt = body.jwt ? await jwtColumns(body.jwt, config.OUTBOUND_ALLOW_HOSTS, "/jwt") : NO_JWT;
    const pools = await poolColumns(createDb(c.env.DB), config, body);
    const webhookSecret = newSecret();
    const secretId = newId("whs");
    const row = { id: newId("ten"), name: body.name, createdAt: now, updatedAt: now, ...limitColumns(body.limits), ...jwt, ...pools };
    try {
      await insertTenant(createDb(c.env.DB), row, {
        id: secretId,
        ciphertext: await encryptSecret(webhookSecret, dataKeys(config), secretContext.webhookSecret(secretId)),
      });
    } catch (err) {
      throw issuerClash(err) ?? err;
    }
    c.var.log.info("tenant_created", { tenant_id: row.id });
    const created = await requireTenant(createDb(c.env.DB), row.id);
    c.header("Location", `/v1/admin/tenants/${row.id}`);
    return c.json({ ...tenantView(created, config), webhook_secret: webhookSecret }, 201);
  })
  .openapi(listTenantsRoute, async (c) => {
    const query = c.req.valid("query");
    const before = pageStart(query.cursor, "ten");
    const page = pageOf(await listTenants(createDb(c.env.DB), { limit: query.limit + 1, before }), query.limit);
    return c.json({ data: page.rows.map((row) => tenantView(row, c.var.config)), next_cursor: page.next_cursor }, 200);
  })
  .openapi(readTenant, async (c) => {
    const row = await requireTenant(createDb(c.env.DB), c.req.valid("param").id);
    return c.json(tenantView(row, c.var.config), 200);
  })
  .openapi(patchTenant, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = createDb(c.env.DB);
    const current = await requireLiveTenant(db, id);
    const patch: TenantPatch = { updatedAt: Date.now(), ...limitColumns(body.limits) };
    if (body.name !== undefined) patch.name = body.name;
    if (body.default_pool !== undefined || body.allowed_pools !== undefined) {
      Object.assign(patch, await poolColumns(db, c.var.config, body, current));
    }
    if (body.jwt === null) Object.assign(patch, NO_JWT);
    else if (body.jwt !== undefined) Object.assign(patch, await jwtColumns(body.jwt, c.var.config.OUTBOUND_ALLOW_HOSTS, "/jwt"));
    let row;
    try {
      row = await updateTenant(db, id, patch);
    } catch (err) {
      throw issuerClash(err) ?? err;
    }
    if (!row) throw tenantNotFound(id);
    c.var.log.info("tenant_updated", { tenant_id: id, fields: Object.keys(body) });
    return c.json(tenantView(row, c.var.config), 200);
  })
  .openapi(createKey, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = createDb(c.env.DB);
    await requireLiveTenant(db, id);
    const minted = await mintApiKey();
    const row = { id: minted.id, tenantId: id, name: body.name ?? null, secretHash: minted.secretHash, createdAt: Date.now(), revokedAt: null };
    await insertApiKey(db, row);
    c.var.log.info("api_key_created", { tenant_id: id, key_id: minted.id });
    return c.json({ ...apiKeyView(row), key: minted.key }, 201);
  })
  .openapi(listKeys, async (c) => {
    const { id } = c.req.valid("param");
    const db = createDb(c.env.DB);
    await requireTenant(db, id);
    return c.json({ data: (await listApiKeys(db, id)).map(apiKeyView) }, 200);
  });
