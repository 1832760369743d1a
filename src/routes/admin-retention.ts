/**
 * `/v1/admin/retention`: where the retention sweep is (src/retention/sweep.ts) and what its pass
 * has erased so far, and a way to start a pass now rather than at the sweeper's next wake-up
 * (after raising retention limits, or to erase an expired backlog at a quiet hour).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { commonProblems } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

const admin = { tags: ["admin"], security: adminSecurity, middleware: [requireAdmin] };
const count = (description: string) => z.number().int().openapi({ description });

const RetentionStatusSchema = z
  .object({
    phase: z.enum(["uploads", "jobs", "deleted", "operator"]).openapi({ description: "The phase the pass is in (docs/data-lifecycle.md)." }),
    after: z.string().openapi({ description: "The last tenant the phase is done with (id order); empty before the first." }),
    pass: z.object({
      started_at: z.string().nullable().openapi({ format: "date-time", description: "When the pass under way began (null: between passes)." }),
      jobs: count("Jobs the pass erased so far."),
      uploads: count("Uploads it erased."),
      objects: count("R2 objects it deleted."),
      bytes: count("Their bytes."),
    }),
    next_step_at: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("RetentionStatus");

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function statusOf(sweeper: DurableObjectStub<import("../index.ts").RetentionSweeper>) {
  const s = await sweeper.status();
  return {
    phase: s.cursor.phase,
    after: s.cursor.after,
    pass: { started_at: iso(s.pass.started_at), jobs: s.pass.jobs, uploads: s.pass.uploads, objects: s.pass.objects, bytes: s.pass.bytes },
    next_step_at: iso(s.next_step_at),
  };
}

const readRoute = createRoute({
  ...admin,
  method: "get",
  path: "/",
  summary: "Where the retention sweep is",
  responses: { 200: { description: "The sweep", content: { "application/json": { schema: RetentionStatusSchema } } }, ...commonProblems },
});

const runRoute = createRoute({
  ...admin,
  method: "post",
  path: "/run",
  summary: "Run the retention sweep's next step now",
  description: "A pass under way continues at once; between passes, the next pass starts now. Idempotent.",
  responses: { 202: { description: "The sweep", content: { "application/json": { schema: RetentionStatusSchema } } }, ...commonProblems },
});

export const adminRetentionRoutes = newRouter()
  .openapi(readRoute, async (c) => c.json(await statusOf(c.env.RETENTION_SWEEPER.getByName("global")), 200))
  .openapi(runRoute, async (c) => {
    const sweeper = c.env.RETENTION_SWEEPER.getByName("global");
    await sweeper.wake();
    c.var.log.info("retention_run_requested", {});
    return c.json(await statusOf(sweeper), 202);
  });
