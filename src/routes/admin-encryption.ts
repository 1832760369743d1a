/**
 * `/v1/admin/encryption`: how many stored secrets are under each DATA_ENCRYPTION_KEYS key, so an
 * operator knows when an old key can leave the list (its `values` is 0 and `pending` is 0), and a
 * way to move them to the newest key now instead of waiting for the cron's small steps
 * (src/encryption/reencrypt.ts; docs/RUNBOOK.md: rotating DATA_ENCRYPTION_KEYS).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { encryptionStatus, reencryptStep } from "../encryption/reencrypt.ts";
import { commonProblems } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

const admin = { tags: ["admin"], security: adminSecurity, middleware: [requireAdmin] };
const count = (description: string) => z.number().int().openapi({ description });

const EncryptionStatusSchema = z
  .object({
    encrypting_key: z.string().openapi({ description: "The key id new values are encrypted with: the first of DATA_ENCRYPTION_KEYS." }),
    keys: z
      .array(
        z.object({
          kid: z.string(),
          listed: z.boolean().openapi({ description: "Whether DATA_ENCRYPTION_KEYS lists it." }),
          values: count("Stored values under it."),
        }),
      )
      .openapi({
        description:
          "Every listed key, and any key stored values name that is no longer listed. A listed key other than the newest with 0 values can be removed.",
      }),
    columns: z.array(
      z.object({
        column: z.string(),
        by_key: z.record(z.string(), z.number().int()),
        without_key_id: count("Values without a key id (written before key ids existed): no key reads them."),
      }),
    ),
    pending: count("Values under a listed key other than the newest: what re-encryption still has to move."),
    unreadable: count("Values under a key no longer listed, or without a key id: nothing reads them (re-list the key, or replace those secrets)."),
  })
  .openapi("EncryptionStatus");

const ReencryptBody = z
  .object({
    limit: z
      .number()
      .int()
      .min(1, "limit must be at least 1")
      .max(1000, "limit must be at most 1000 (call again for more)")
      .default(100)
      .openapi({ description: "Most values moved per encrypted column in this call." }),
  })
  .strict()
  .openapi("ReencryptRequest");

const ReencryptResultSchema = z
  .object({
    moved: count("Values this call moved to the newest key."),
    failed: count("Values under a listed key that did not decrypt (not their row's, or damaged); the log names them."),
    expired_host_secrets: count("Previous host secrets forgotten because their overlap had ended."),
    status: EncryptionStatusSchema,
  })
  .openapi("ReencryptResult");

const readRoute = createRoute({
  ...admin,
  method: "get",
  path: "/",
  summary: "Stored secrets per data encryption key",
  responses: { 200: { description: "The counts", content: { "application/json": { schema: EncryptionStatusSchema } } }, ...commonProblems },
});

const reencryptRoute = createRoute({
  ...admin,
  method: "post",
  path: "/reencrypt",
  summary: "Move stored secrets to the newest data encryption key now (one bounded step)",
  description: "Idempotent: values already under the newest key are left alone. Call again while `status.pending` is above 0.",
  request: { body: { required: false, content: { "application/json": { schema: ReencryptBody } } } },
  responses: { 200: { description: "What the step did", content: { "application/json": { schema: ReencryptResultSchema } } }, ...commonProblems },
});

export const adminEncryptionRoutes = newRouter()
  .openapi(readRoute, async (c) => c.json(await encryptionStatus(c.env.DB, c.var.config), 200))
  .openapi(reencryptRoute, async (c) => {
    // Without a body the validator never runs, so the schema's default is not applied: `{}`.
    const limit = c.req.valid("json")?.limit ?? 100;
    const done = await reencryptStep(c.env.DB, c.var.config, limit, c.var.log);
    c.var.log.info("reencrypt_step", { ...done });
    return c.json({ ...done, status: await encryptionStatus(c.env.DB, c.var.config) }, 200);
  });
