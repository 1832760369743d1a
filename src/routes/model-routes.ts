/**
 * The model registry's routes (src/models/registry.ts), for one scope each: `/v1/admin/models`
 * (the operators' registry, every folder) and `/v1/models` (a tenant's private files, in the
 * folders tenants may use, within the tenant's quota). Register a file by name, folder, SHA-256 and
 * size; upload it in parts (`PUT …/parts/{n}`, any order, resumable); complete; the edge verifies
 * the whole file before it is `ready` for hosts. Operators may instead give `source: {url}` and
 * the edge downloads it itself (`importing → ready | failed`). Another scope's model is a 404.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { refuseOverStorage } from "../admission/storage-quota.ts";
import { requireAdmin } from "../auth/admin.ts";
import { authenticate } from "../auth/authenticate.ts";
import type { Principal } from "../auth/principal.ts";
import { SHARED_MODELS } from "../blobs/keys.ts";
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import { blobsOf, getBlob, getModel, listModels, scopeUsage } from "../db/models.ts";
import type { ModelBlobRow, ModelRow } from "../db/schema.ts";
import type { AppEnv, Env } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { completeUpload, partsTotal, receivePart, registerModel, removeModel } from "../models/registry.ts";
import { ListModelsQuery, ModelIdParam, ModelPartParam, ModelPartSchema, ModelSchema, RegisterModelBody } from "./models.schemas.ts";
import { commonProblems, conflictProblem, modelQuotaProblem, notFoundProblem, rateLimitedProblem } from "./problem.schemas.ts";
import { adminSecurity, newRouter, userSecurity } from "./router.ts";

const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });

interface Scope {
  base: string;
  route: { tags: string[]; security: Record<string, string[]>[]; middleware: MiddlewareHandler<AppEnv>[] };
  /** The scope of the caller's models. */
  of: (c: Context<AppEnv>) => string;
  /** Checks a registration against the scope's rules (folders, quota) before anything is stored. */
  admit?: (c: Context<AppEnv>, file: { folder: string; size: number; source?: unknown }) => Promise<void>;
  /** The responses `admit` adds to a registration's (its quota refusals). */
  admitProblems?: Record<number, unknown>;
}

export function modelView(base: string, model: ModelRow, blob: ModelBlobRow | undefined) {
  const state = blob?.state ?? "failed";
  return {
    id: model.id,
    folder: model.folder,
    name: model.name,
    sha256: model.sha256,
    size: blob?.size ?? 0,
    state,
    error: blob ? blob.error : "The file's bytes are gone; register it again.",
    created_at: new Date(model.createdAt).toISOString(),
    source: blob ? { kind: blob.source.kind, url: blob.source.kind === "url" ? blob.source.url : null } : null,
    upload:
      blob?.state === "uploading"
        ? {
            part_size: blob.partSize ?? blob.size,
            parts_total: partsTotal(blob),
            parts_received: (blob.parts ?? []).map((p) => p.n),
            part_url: `${base}/${model.id}/parts/{n}`,
            complete_url: `${base}/${model.id}/complete`,
          }
        : null,
  };
}

export function modelRoutes(scope: Scope) {
  const BASE = scope.base;
  const admin = scope.route;

  const register = createRoute({
    ...admin,
    method: "post",
    path: "/",
    summary: "Register a model file (then upload it, or have the edge download it from `source.url`, unless the registry already has these bytes)",
    request: { body: { required: true, content: { "application/json": { schema: RegisterModelBody } } } },
    responses: {
      201: json("Registered", ModelSchema),
      200: json("Already registered with these bytes", ModelSchema),
      ...commonProblems,
      ...conflictProblem,
      ...scope.admitProblems,
    },
  });
  const list = createRoute({
    ...admin,
    method: "get",
    path: "/",
    summary: "List registered model files",
    request: { query: ListModelsQuery },
    responses: { 200: json("Models", z.object({ data: z.array(ModelSchema), next_cursor: z.string().nullable() })), ...commonProblems },
  });
  const read = createRoute({
    ...admin,
    method: "get",
    path: "/{id}",
    summary: "Get a model file and its upload's progress",
    request: { params: ModelIdParam },
    responses: { 200: json("The model", ModelSchema), ...commonProblems, ...notFoundProblem },
  });
  const putPart = createRoute({
    ...admin,
    method: "put",
    path: "/{id}/parts/{n}",
    summary: "Upload one part of a model file",
    description:
      "The body is the part's bytes (`application/octet-stream`), exactly `part_size` long (the last part: the rest), with that Content-Length. Sending a part again replaces it.",
    request: {
      params: ModelPartParam,
      body: { required: true, content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
    },
    responses: { 200: json("The part was stored", ModelPartSchema), ...commonProblems, ...notFoundProblem, ...conflictProblem },
  });
  const complete = createRoute({
    ...admin,
    method: "post",
    path: "/{id}/complete",
    summary: "Complete a model upload; the file is then verified before it is ready",
    request: { params: ModelIdParam },
    responses: { 202: json("Verifying", ModelSchema), 200: json("Already complete", ModelSchema), ...commonProblems, ...notFoundProblem, ...conflictProblem },
  });
  const remove = createRoute({
    ...admin,
    method: "delete",
    path: "/{id}",
    summary: "Unregister a model file (its bytes go when no name points at them)",
    request: { params: ModelIdParam },
    responses: { 204: { description: "Removed" }, ...commonProblems, ...notFoundProblem },
  });

  const notFound = (id: string) => new ProblemError("not-found", `No model ${id}; GET ${BASE} lists them.`);

  async function found(db: ReturnType<typeof createDb>, owner: string, id: string): Promise<{ model: ModelRow; blob: ModelBlobRow | undefined }> {
    const model = await getModel(db, owner, id);
    if (!model) throw notFound(id);
    return { model, blob: await getBlob(db, owner, model.sha256) };
  }

  return newRouter()
    .openapi(register, async (c) => {
      const body = c.req.valid("json");
      const { config } = c.var;
      if (body.size > config.MODEL_MAX_BYTES) {
        throw new ProblemError("validation-failed", `Model files are limited to ${config.MODEL_MAX_BYTES} bytes (MODEL_MAX_BYTES).`, {
          extensions: { errors: [{ pointer: "/size", detail: `must be at most ${config.MODEL_MAX_BYTES}` }] },
        });
      }
      await scope.admit?.(c, body);
      const r = await registerModel(c.env, config, scope.of(c), body);
      if (r.created) {
        c.var.log.info("model_registered", { model_id: r.model.id, folder: r.model.folder, sha256: r.model.sha256, state: r.blob.state });
        c.header("Location", `${BASE}/${r.model.id}`);
      }
      return c.json(modelView(BASE, r.model, r.blob), r.created ? 201 : 200);
    })
    .openapi(list, async (c) => {
      const q = c.req.valid("query");
      const db = createDb(c.env.DB);
      const rows = await listModels(db, scope.of(c), { after: q.cursor, limit: q.limit + 1, folder: q.folder });
      const page = rows.slice(0, q.limit);
      const blobs = await blobsOf(
        db,
        scope.of(c),
        page.map((m) => m.sha256),
      );
      return c.json(
        { data: page.map((m) => modelView(BASE, m, blobs.get(m.sha256))), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null },
        200,
      );
    })
    .openapi(read, async (c) => {
      const { model, blob } = await found(createDb(c.env.DB), scope.of(c), c.req.valid("param").id);
      return c.json(modelView(BASE, model, blob), 200);
    })
    .openapi(putPart, async (c) => {
      const { id, n } = c.req.valid("param");
      const { model, blob } = await found(createDb(c.env.DB), scope.of(c), id);
      if (!blob) throw notFound(id);
      const declared = c.req.header("Content-Length");
      if (declared === undefined || !/^\d+$/.test(declared)) {
        throw new ProblemError("validation-failed", "A part needs a Content-Length (its exact size).", {
          extensions: { errors: [{ pointer: "/content-length", detail: "required" }] },
        });
      }
      const part = await receivePart(c.env, blob, n, c.req.raw.body, Number(declared));
      const after = await getBlob(createDb(c.env.DB), scope.of(c), model.sha256);
      const have = new Set((after?.parts ?? []).map((p) => p.n));
      const missing = Array.from({ length: partsTotal(blob) }, (_, i) => i + 1).filter((k) => !have.has(k));
      return c.json({ n: part.n, size: part.size, sha256: part.sha256, parts_missing: missing }, 200);
    })
    .openapi(complete, async (c) => {
      const { model, blob } = await found(createDb(c.env.DB), scope.of(c), c.req.valid("param").id);
      if (!blob) throw notFound(model.id);
      const wasOpen = blob.state === "uploading";
      const after = await completeUpload(c.env, blob);
      if (wasOpen) c.var.log.info("model_upload_completed", { model_id: model.id, sha256: model.sha256 });
      return c.json(modelView(BASE, model, after), wasOpen ? 202 : 200);
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid("param");
      if (!(await removeModel(c.env, scope.of(c), id))) throw notFound(id);
      c.var.log.info("model_removed", { model_id: id });
      return c.body(null, 204);
    });
}

/**
 * A tenant may register files in the folders TENANT_MODEL_FOLDERS lists, up to its limits
 * `model_files` names and `model_bytes` bytes (its own, else TENANT_MAX_MODELS and
 * TENANT_MODEL_BYTES): what its blobs hold or will hold; failed ones do not count.
 */
async function admitTenantModel(env: Env, config: Config, principal: Principal, file: { folder: string; size: number; source?: unknown }): Promise<void> {
  if (file.source !== undefined) {
    // The edge fetches URLs only for operators (an allow-list of model sources); tenants upload.
    throw new ProblemError("validation-failed", "Tenants add model files by uploading them; `source` is for the operators' registry.", {
      extensions: { errors: [{ pointer: "/source", detail: "not allowed here" }] },
    });
  }
  const folders = config.TENANT_MODEL_FOLDERS.split(",").map((f) => f.trim());
  if (!folders.includes(file.folder)) {
    throw new ProblemError("validation-failed", `Tenants may add model files to ${folders.join(", ")}; not to ${file.folder}.`, {
      extensions: { errors: [{ pointer: "/folder", detail: `must be one of ${folders.join(", ")}` }] },
    });
  }
  const { model_files: maxFiles, model_bytes: maxBytes } = principal.limits;
  await refuseOverStorage(createDb(env.DB), principal.tenantId, principal.limits.storage_bytes, Math.max(1, file.size));
  const usage = await scopeUsage(createDb(env.DB), principal.tenantId);
  if (usage.models >= maxFiles) {
    throw new ProblemError("model-quota", `This tenant has ${usage.models} model files (limit ${maxFiles}); delete one first.`, {
      extensions: { limit: maxFiles, current: usage.models },
    });
  }
  if (usage.bytes + file.size > maxBytes) {
    throw new ProblemError(
      "model-quota",
      `This file (${file.size} bytes) would take this tenant's model files to ${usage.bytes + file.size} bytes (limit ${maxBytes}); delete some first.`,
      { extensions: { limit: maxBytes, current: usage.bytes } },
    );
  }
}

/** The operators' registry: every folder, no quota. */
export const adminModelRoutes = modelRoutes({
  base: "/v1/admin/models",
  route: { tags: ["admin"], security: adminSecurity, middleware: [requireAdmin] },
  of: () => SHARED_MODELS,
});

/** A tenant's private model files (LoRAs, embeddings, VAEs): visible to that tenant only. */
export const tenantModelRoutes = modelRoutes({
  base: "/v1/models",
  route: { tags: ["models"], security: userSecurity, middleware: [authenticate] },
  of: (c) => c.var.principal.tenantId,
  admit: (c, file) => admitTenantModel(c.env, c.var.config, c.var.principal, file),
  admitProblems: { ...modelQuotaProblem, ...rateLimitedProblem },
});
