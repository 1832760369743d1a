/**
 * Deletion on request, for operators (docs/data-lifecycle.md):
 * - `DELETE /v1/admin/tenants/{id}/users/{user_id}` erases one end-user's jobs (inputs, outputs,
 *   events, webhook log) and uploads now, and answers with what was removed;
 * - `DELETE /v1/admin/tenants/{id}` revokes the tenant's keys and webhook secrets at once and has
 *   the retention sweeper erase everything it holds, then the tenant itself.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { USER_ID_PATTERN } from "../auth/user-id.ts";
import { createDb } from "../db/client.ts";
import { beginTenantDeletion } from "../db/retention.ts";
import { getTenant } from "../db/tenants.ts";
import { ProblemError } from "../http/problem.ts";
import { cancelLiveJobs } from "../retention/live-jobs.ts";
import { eraseUser } from "../retention/user-erasure.ts";
import { TenantIdParam } from "./admin.schemas.ts";
import { commonProblems, notFoundProblem } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

const admin = { tags: ["admin"], security: adminSecurity, middleware: [requireAdmin] };
const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });
const count = (description: string) => z.number().int().openapi({ description });

const UserParams = TenantIdParam.extend({
  user_id: z
    .string()
    .regex(USER_ID_PATTERN, "an end-user id as sent in X-User-ID")
    .openapi({ param: { name: "user_id", in: "path" } }),
});

const ErasureSchema = z
  .object({
    tenant_id: z.string(),
    user_id: z.string(),
    jobs: count("Jobs erased, with their workflow, events and webhook log."),
    inputs: count("Their input files."),
    outputs: count("Their output files."),
    uploads: count("Uploads erased."),
    objects: count("Objects deleted from storage."),
    bytes: count("Their bytes."),
    live_jobs: count("Jobs still running, asked to stop: a later call erases them once they have ended."),
    complete: z.boolean().openapi({ description: "False: something is left (running jobs, or more than one call erases); call again." }),
  })
  .openapi("UserErasure", { description: "What one call erased of an end-user's data." });

const TenantDeletionSchema = z
  .object({
    id: z.string(),
    state: z.literal("deleting"),
    deleted_at: z.string().openapi({ format: "date-time", description: "When the deletion began; its keys stopped working then." }),
    live_jobs: count("Jobs still running, asked to stop; the sweeper erases them once they have ended."),
  })
  .openapi("TenantDeletion");

const eraseUserRoute = createRoute({
  ...admin,
  method: "delete",
  path: "/{id}/users/{user_id}",
  summary: "Erase everything of one end-user",
  description:
    "Cancels the user's live jobs and erases their ended jobs (workflow, inputs, outputs, events, webhook deliveries) and uploads from D1 and R2. Private model files are the tenant's, not a user's, and stay. Idempotent: when `complete` is false, call again.",
  request: { params: UserParams },
  responses: { 200: json("What was erased", ErasureSchema), ...commonProblems, ...notFoundProblem },
});

const deleteTenantRoute = createRoute({
  ...admin,
  method: "delete",
  path: "/{id}",
  summary: "Delete a tenant and everything it holds",
  description:
    "Revokes its API keys and retires its webhook secrets at once (nothing authenticates as it from then on), cancels its live jobs, and leaves the erasure of its jobs, uploads and model files to the retention sweeper; GET shows `deleted_at` until the tenant is gone, then 404. Idempotent. GPU-usage aggregates (`GET /v1/admin/usage`) are kept for billing.",
  request: { params: TenantIdParam },
  responses: { 202: json("Deletion under way", TenantDeletionSchema), ...commonProblems, ...notFoundProblem },
});

const tenantNotFound = (id: string) => new ProblemError("not-found", `No tenant ${id}.`);

/** Live jobs the delete request itself asks to stop; the sweeper asks the rest. */
const LIVE_JOBS_PER_REQUEST = 200;

export const adminErasureRoutes = newRouter()
  .openapi(eraseUserRoute, async (c) => {
    const { id, user_id: userId } = c.req.valid("param");
    if (!(await getTenant(createDb(c.env.DB), id))) throw tenantNotFound(id);
    const result = await eraseUser(c.env, c.var.config, c.var.log, id, userId, Date.now());
    // The user id is the tenant's identifier for a person: it is not logged with the erasure.
    c.var.log.info("user_erased", { tenant_id: id, ...result.erased, live_jobs: result.liveJobs, complete: result.complete });
    return c.json({ tenant_id: id, user_id: userId, ...result.erased, live_jobs: result.liveJobs, complete: result.complete }, 200);
  })
  .openapi(deleteTenantRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = createDb(c.env.DB);
    const now = Date.now();
    const began = await beginTenantDeletion(db, id, now);
    if (!began) throw tenantNotFound(id);
    const liveJobs = await cancelLiveJobs(c.env, db, c.var.log, id, null, LIVE_JOBS_PER_REQUEST, now);
    await c.env.RETENTION_SWEEPER.getByName("global").wake();
    c.var.log.info("tenant_deletion_began", { tenant_id: id, live_jobs: liveJobs });
    c.header("Location", `/v1/admin/tenants/${id}`);
    return c.json({ id, state: "deleting" as const, deleted_at: new Date(began.deletedAt).toISOString(), live_jobs: liveJobs }, 202);
  });
