/**
 * `/v1/admin/tenants/{id}/webhook-secrets`: rotate a tenant's webhook signing secrets.
 *
 * Add a secret (shown once), list them (never their values), retire one. While more than one is
 * active every delivery carries one signature per active secret, so receivers can switch over at
 * their own pace; the last active secret can never be retired (409), so deliveries are always signed.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { createDb } from "../db/client.ts";
import { getTenant } from "../db/tenants.ts";
import { dataKeys, secretContext } from "../encryption/columns.ts";
import { ProblemError } from "../http/problem.ts";
import { encryptSecret } from "../lib/crypto.ts";
import { newId } from "../lib/ids.ts";
import { newSecret } from "../protocol/standard-webhooks.ts";
import { addSecret, listSecrets, MAX_ACTIVE_SECRETS, retireSecret } from "../webhooks/secrets.ts";
import { secretView } from "../webhooks/view.ts";
import { TenantIdParam } from "./admin.schemas.ts";
import { commonProblems, conflictProblem, notFoundProblem } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";
import { CreatedWebhookSecretSchema, TenantSecretParams, WebhookSecretSchema } from "./webhooks.schemas.ts";

const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });
const admin = { tags: ["admin"], security: adminSecurity, middleware: [requireAdmin] };

const createSecret = createRoute({
  ...admin,
  method: "post",
  path: "/{id}/webhook-secrets",
  summary: "Add a webhook signing secret (shown once)",
  description: `Starts a rotation: from now on every delivery is also signed with this secret. At most ${MAX_ACTIVE_SECRETS} secrets may be active.`,
  request: { params: TenantIdParam },
  responses: { 201: json("The new secret", CreatedWebhookSecretSchema), ...commonProblems, ...notFoundProblem, ...conflictProblem },
});

const listSecretsRoute = createRoute({
  ...admin,
  method: "get",
  path: "/{id}/webhook-secrets",
  summary: "List a tenant's webhook signing secrets (never their values)",
  request: { params: TenantIdParam },
  responses: { 200: json("The secrets, oldest first", z.object({ data: z.array(WebhookSecretSchema) })), ...commonProblems, ...notFoundProblem },
});

const retireSecretRoute = createRoute({
  ...admin,
  method: "delete",
  path: "/{id}/webhook-secrets/{secret_id}",
  summary: "Retire a webhook signing secret (idempotent; never the last active one)",
  request: { params: TenantSecretParams },
  responses: { 200: json("The retired secret", WebhookSecretSchema), ...commonProblems, ...notFoundProblem, ...conflictProblem },
});

async function requireTenant(c: { env: { DB: D1Database } }, id: string): Promise<void> {
  if (!(await getTenant(createDb(c.env.DB), id))) throw new ProblemError("not-found", `No tenant ${id}.`);
}

export const adminWebhookSecretRoutes = newRouter()
  .openapi(createSecret, async (c) => {
    const { id } = c.req.valid("param");
    await requireTenant(c, id);
    const secret = newSecret();
    const secretId = newId("whs");
    const ciphertext = await encryptSecret(secret, dataKeys(c.var.config), secretContext.webhookSecret(secretId));
    const row = { id: secretId, tenantId: id, ciphertext, now: Date.now() };
    const added = await addSecret(createDb(c.env.DB), row);
    if (added === "too-many") {
      throw new ProblemError("conflict", `Tenant ${id} already has ${MAX_ACTIVE_SECRETS} active webhook secrets; retire one first.`);
    }
    c.var.log.info("webhook_secret_created", { tenant_id: id, secret_id: row.id });
    c.header("Location", `/v1/admin/tenants/${id}/webhook-secrets`);
    const view = secretView({ id: row.id, tenantId: id, secretCiphertext: "", createdAt: row.now, retiredAt: null });
    return c.json({ ...view, secret }, 201);
  })
  .openapi(listSecretsRoute, async (c) => {
    const { id } = c.req.valid("param");
    await requireTenant(c, id);
    return c.json({ data: (await listSecrets(createDb(c.env.DB), id)).map(secretView) }, 200);
  })
  .openapi(retireSecretRoute, async (c) => {
    const { id, secret_id: secretId } = c.req.valid("param");
    await requireTenant(c, id);
    const result = await retireSecret(createDb(c.env.DB), id, secretId, Date.now());
    if (!result.ok) {
      switch (result.reason) {
        case "not-found":
          throw new ProblemError("not-found", `Tenant ${id} has no webhook secret ${secretId}.`);
        case "last-active":
          throw new ProblemError("last-webhook-secret", `Secret ${secretId} is tenant ${id}'s only active webhook secret; add a new one before retiring it.`);
      }
    }
    if (!result.alreadyRetired) c.var.log.info("webhook_secret_retired", { tenant_id: id, secret_id: secretId });
    return c.json(secretView(result.row), 200);
  });
