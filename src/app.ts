/**
 * The edge Worker's HTTP app: middleware in the order a request meets it, then the routes.
 *
 *   request id → config + logger → outputs origin (downloads only) → body size cap → JSON content type → JSON depth → route
 *   (route-level: auth → validation → handler) → problem+json for every error
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { requestId } from "hono/request-id";
import type { AppEnv } from "./env.ts";
import { FEED_EVENT_DATA, FEED_EVENT_TYPES, feedEventSchemaName } from "./feed/events.ts";
import { limitBody, rejectDeepJson, requireJsonBody } from "./http/body.ts";
import { requestContext } from "./http/context.ts";
import { notFoundHandler, onError } from "./http/errors.ts";
import { outputsOriginOnly } from "./http/outputs-origin.ts";
import { validationHook } from "./http/validation.ts";
import { adminEncryptionRoutes } from "./routes/admin-encryption.ts";
import { adminErasureRoutes } from "./routes/admin-erasure.ts";
import { adminFailureRoutes } from "./routes/admin-failures.ts";
import { adminHostRoutes } from "./routes/admin-hosts.ts";
import { adminKeyRoutes } from "./routes/admin-keys.ts";
import { adminPoolRoutes } from "./routes/admin-pools.ts";
import { adminRetentionRoutes } from "./routes/admin-retention.ts";
import { adminTenantRoutes } from "./routes/admin-tenants.ts";
import { adminUsageRoutes } from "./routes/admin-usage.ts";
import { adminWebhookSecretRoutes } from "./routes/admin-webhook-secrets.ts";
import { consoleRoutes } from "./routes/console.ts";
import { docsRoutes } from "./routes/docs.ts";
import { healthRoutes } from "./routes/health.ts";
import { hostApiRoutes } from "./routes/host-api.ts";
import { jobEventRoutes } from "./routes/job-events.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { adminModelRoutes, tenantModelRoutes } from "./routes/model-routes.ts";
import { outputRoutes } from "./routes/outputs.ts";
import { uploadRoutes } from "./routes/uploads.ts";
import { usageRoutes } from "./routes/usage.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { workflowRoutes } from "./routes/workflows.ts";

export const API_VERSION = "1.0.0";

const OPENAPI_CONFIG = {
  openapi: "3.1.0",
  info: {
    title: "comfyui-saas API",
    version: API_VERSION,
    description: "Run ComfyUI workflows on GPU hosts: submit, watch, cancel, download. Errors are application/problem+json (RFC 9457).",
  },
};

/** The document `/openapi.json` serves, as packages/client/openapi.json keeps it (the client's types are generated from it). */
export function renderOpenApiDocument(): string {
  return `${JSON.stringify(createApp().getOpenAPI31Document(OPENAPI_CONFIG), null, 2)}\n`;
}

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: (result) => validationHook(result) });

  app.use("*", requestId({ headerName: "X-Request-ID" }));
  app.use("*", requestContext);
  app.use("*", outputsOriginOnly);
  app.use("*", limitBody);
  app.use("*", requireJsonBody);
  app.use("*", rejectDeepJson);

  // The URL map: each router is mounted at its prefix, its own paths are relative to it.
  app.route("/health", healthRoutes);
  app.route("/v1/jobs", jobRoutes);
  app.route("/v1/jobs", outputRoutes);
  app.route("/v1/jobs", jobEventRoutes);
  app.route("/v1/jobs", webhookRoutes);
  app.route("/v1/uploads", uploadRoutes);
  app.route("/v1/usage", usageRoutes);
  app.route("/v1/workflows", workflowRoutes);
  app.route("/v1/admin/tenants", adminTenantRoutes);
  app.route("/v1/admin/tenants", adminWebhookSecretRoutes);
  app.route("/v1/admin/tenants", adminErasureRoutes);
  app.route("/v1/admin/keys", adminKeyRoutes);
  app.route("/v1/admin/hosts", adminHostRoutes);
  app.route("/v1/admin/pools", adminPoolRoutes);
  app.route("/v1/admin/models", adminModelRoutes);
  app.route("/v1/admin/failures", adminFailureRoutes);
  app.route("/v1/admin/usage", adminUsageRoutes);
  app.route("/v1/admin/retention", adminRetentionRoutes);
  app.route("/v1/admin/encryption", adminEncryptionRoutes);
  app.route("/v1/models", tenantModelRoutes);
  // Internal API for GPU hosts: signed by the hosts, absent from the public OpenAPI document. Its
  // paths are the wire contract's own (src/protocol/paths.ts), so it is mounted at the root.
  app.route("/", hostApiRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "An API key (`csk_…`) from the admin API. Requires `X-User-ID`.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "userId", {
    type: "apiKey",
    in: "header",
    name: "X-User-ID",
    description: "The end-user the request acts for: ^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "jwt", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A JWT from the tenant's configured issuer; `sub` is the end-user.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "The deployment's ADMIN_TOKEN.",
  });
  // The event stream's `data` schemas (GET /v1/jobs/{id}/events names them in its description).
  for (const type of FEED_EVENT_TYPES) app.openAPIRegistry.register(feedEventSchemaName(type), FEED_EVENT_DATA[type]);
  app.doc31("/openapi.json", OPENAPI_CONFIG);
  app.route("/", docsRoutes);
  app.route("/", consoleRoutes);

  app.notFound(notFoundHandler(app));
  app.onError(onError);
  return app;
}
