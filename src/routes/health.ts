/**
 * `GET /health`: 200 when the service can take jobs, 503 with the reasons when it cannot.
 * Public (no credentials), cheap, and never reveals configuration values.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { newRouter } from "./router.ts";

const ComponentSchema = z.object({
  status: z.enum(["ok", "down"]),
  latency_ms: z.number().optional(),
  detail: z.string().optional(),
});

const HealthSchema = z
  .object({
    status: z.enum(["ok", "down"]),
    components: z.object({ edge: ComponentSchema, database: ComponentSchema }),
  })
  .openapi("Health");

const health = createRoute({
  method: "get",
  path: "/health",
  summary: "Service health",
  tags: ["service"],
  responses: {
    200: { description: "Can take and run jobs", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "Cannot; components say why", content: { "application/json": { schema: HealthSchema } } },
  },
});

const DB_TIMEOUT_MS = 2_000;

async function probeDatabase(db: D1Database): Promise<z.infer<typeof ComponentSchema>> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | null = null;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${DB_TIMEOUT_MS} ms`)), DB_TIMEOUT_MS);
    });
    await Promise.race([db.prepare("select 1").first(), timeout]);
    return { status: "ok", latency_ms: Date.now() - started };
  } catch (err) {
    return { status: "down", latency_ms: Date.now() - started, detail: err instanceof Error ? err.message : "query failed" };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

export const healthRoutes = newRouter().openapi(health, async (c) => {
  const database = await probeDatabase(c.env.DB);
  const status: "ok" | "down" = database.status === "ok" ? "ok" : "down";
  if (status !== "ok") c.var.log.warn("health_down", { database: database.detail });
  c.header("Cache-Control", "no-store");
  const body = { status, components: { edge: { status: "ok" as const }, database } };
  return status === "ok" ? c.json(body, 200) : c.json(body, 503);
});
