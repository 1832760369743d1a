/** Request and response schemas of `/v1/admin`. */
import { z } from "@hono/zod-openapi";
import { tenantJwtInput } from "../auth/jwt.ts";

const limit = (max: number, what: string) => z.number().int().min(1).max(max).openapi({ description: what });

export const LimitsInput = z
  .object({
    max_active_jobs_per_user: limit(10_000, "Active (queued + running) jobs one end-user may have.").nullable().optional(),
    max_active_jobs_per_tenant: limit(1_000_000, "Active jobs the whole tenant may have.").nullable().optional(),
    requests_per_minute: limit(1_000_000, "Job submissions the tenant may make in any 60 s window.").nullable().optional(),
    uploads_per_day: limit(10_000_000, "Uploads (`POST /v1/uploads`) the tenant may store in any 24 h.").nullable().optional(),
    upload_bytes_per_day: limit(1_099_511_627_776, "Bytes the tenant may upload in any 24 h.").nullable().optional(),
  })
  .strict()
  .openapi("LimitsInput", { description: "Omit a field to keep it; null resets it to the deployment default." });

export const LimitsSchema = z
  .object({
    max_active_jobs_per_user: z.number().int(),
    max_active_jobs_per_tenant: z.number().int(),
    requests_per_minute: z.number().int(),
    uploads_per_day: z.number().int(),
    upload_bytes_per_day: z.number().int(),
  })
  .openapi("Limits", { description: "Effective limits (tenant overrides, else deployment defaults)." });

export const TenantJwtInput = tenantJwtInput.openapi("TenantJwtConfig");

export const CreateTenantBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    limits: LimitsInput.optional(),
    jwt: TenantJwtInput.optional(),
  })
  .strict()
  .openapi("CreateTenant");

export const PatchTenantBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    limits: LimitsInput.optional(),
    jwt: TenantJwtInput.nullable().optional(),
  })
  .strict()
  .openapi("PatchTenant");

export const TenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    limits: LimitsSchema,
    limit_overrides: z.object({
      max_active_jobs_per_user: z.number().int().nullable(),
      max_active_jobs_per_tenant: z.number().int().nullable(),
      requests_per_minute: z.number().int().nullable(),
      uploads_per_day: z.number().int().nullable(),
      upload_bytes_per_day: z.number().int().nullable(),
    }),
    jwt: z
      .object({
        issuer: z.string(),
        audience: z.string(),
        jwks_url: z.string().nullable(),
        has_public_key: z.boolean(),
        algorithms: z.array(z.string()),
      })
      .nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Tenant");

export const CreatedTenantSchema = TenantSchema.extend({
  webhook_secret: z.string().openapi({ description: "Standard Webhooks signing secret (whsec_…). Shown only in this response." }),
}).openapi("CreatedTenant");

export const TenantIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});
export const KeyIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const CreateKeyBody = z
  .object({ name: z.string().trim().min(1).max(200).optional() })
  .strict()
  .openapi("CreateApiKey");

export const ApiKeySchema = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    name: z.string().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "The API key. Shown only in this response; store it now." }),
}).openapi("CreatedApiKey");
