/** `/v1/admin/keys/{id}`: revoke an API key. It stops working on the next request. */
import { createRoute } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { revokeApiKey } from "../db/api-keys.ts";
import { createDb } from "../db/client.ts";
import { ProblemError } from "../http/problem.ts";
import { apiKeyView } from "../tenants/view.ts";
import { ApiKeySchema, KeyIdParam } from "./admin.schemas.ts";
import { commonProblems, notFoundProblem } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

const revokeKey = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Revoke an API key (idempotent)",
  tags: ["admin"],
  security: adminSecurity,
  middleware: [requireAdmin],
  request: { params: KeyIdParam },
  responses: {
    200: { description: "The revoked key", content: { "application/json": { schema: ApiKeySchema } } },
    ...commonProblems,
    ...notFoundProblem,
  },
});

export const adminKeyRoutes = newRouter().openapi(revokeKey, async (c) => {
  const { id } = c.req.valid("param");
  const row = await revokeApiKey(createDb(c.env.DB), id, Date.now());
  if (!row) throw new ProblemError("not-found", `No API key ${id}.`);
  c.var.log.info("api_key_revoked", { key_id: id, tenant_id: row.tenantId });
  return c.json(apiKeyView(row), 200);
});
