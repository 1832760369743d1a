/**
 * `/v1/admin/failures`: the failed jobs of the last `window_seconds`, counted by error code and
 * pool, largest groups first: what the operator view shows as "failures in the last hour". Read from
 * D1 (the jobs' terminal state), so it covers every pool whether or not its Dispatcher is up.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/admin.ts";
import { createDb } from "../db/client.ts";
import { FAILURE_MESSAGE_CHARS, failureSummary } from "../db/failures.ts";
import { commonProblems } from "./problem.schemas.ts";
import { adminSecurity, newRouter } from "./router.ts";

/** Groups returned at most; `total` still counts the failures of the groups left out. */
export const MAX_FAILURE_GROUPS = 100;
const MIN_WINDOW_SECONDS = 60;
const MAX_WINDOW_SECONDS = 86_400;

const FailuresQuery = z
  .object({
    window_seconds: z.coerce
      .number()
      .int("must be a whole number of seconds")
      .min(MIN_WINDOW_SECONDS, `must be at least ${MIN_WINDOW_SECONDS} (one minute)`)
      .max(MAX_WINDOW_SECONDS, `must be at most ${MAX_WINDOW_SECONDS} (one day)`)
      .default(3600)
      .openapi({
        param: { name: "window_seconds", in: "query" },
        description: `How far back to look, in seconds: ${MIN_WINDOW_SECONDS} to ${MAX_WINDOW_SECONDS}; default 3600 (the last hour).`,
      }),
  })
  .strict();

const iso = { format: "date-time" } as const;

const FailureGroupSchema = z
  .object({
    code: z.string().openapi({ description: "The jobs' `error.code` (execution_error, out_of_memory, queue_timeout, host_lost, …)." }),
    pool: z.string().openapi({ description: "The GPU pool the jobs ran in." }),
    count: z.number().int().openapi({ description: "Failed jobs with this code in this pool within the window." }),
    last_at: z.string().openapi({ ...iso, description: "When the latest of them failed." }),
    last_message: z
      .string()
      .nullable()
      .openapi({
        description: `The latest one's \`error.message\`, cut to ${FAILURE_MESSAGE_CHARS} characters (null: it had none).`,
      }),
  })
  .openapi("FailureGroup");

const FailuresSchema = z
  .object({
    since: z.string().openapi({ ...iso, description: "The window's start: jobs that failed at or after it count." }),
    until: z.string().openapi({ ...iso, description: "The window's end: when the answer was made." }),
    total: z.number().int().openapi({ description: "Every failed job of the window, including those of groups left out by the cap." }),
    groups: z.array(FailureGroupSchema).openapi({
      description: `By count, largest first, then by code and pool; at most ${MAX_FAILURE_GROUPS} groups (when the sum of their counts is less than \`total\`, smaller groups were left out).`,
    }),
  })
  .openapi("Failures", { description: "Failed jobs of a recent window, by error code and pool." });

const listFailures = createRoute({
  tags: ["admin"],
  security: adminSecurity,
  middleware: [requireAdmin],
  method: "get",
  path: "/",
  summary: "Failed jobs of a recent window, by error code and pool",
  description: `Counts the jobs that ended \`failed\` in the last \`window_seconds\` (default one hour) per error code and pool, with each group's latest failure. At most ${MAX_FAILURE_GROUPS} groups.`,
  request: { query: FailuresQuery },
  responses: {
    200: { description: "The window's failures", content: { "application/json": { schema: FailuresSchema } } },
    ...commonProblems,
  },
});

export const adminFailureRoutes = newRouter().openapi(listFailures, async (c) => {
  const { window_seconds } = c.req.valid("query");
  const until = Date.now();
  const since = until - window_seconds * 1000;
  const { total, groups } = await failureSummary(createDb(c.env.DB), { since, until }, MAX_FAILURE_GROUPS);
  return c.json(
    {
      since: new Date(since).toISOString(),
      until: new Date(until).toISOString(),
      total,
      groups: groups.map((g) => ({
        code: g.code,
        pool: g.pool,
        count: g.count,
        last_at: new Date(g.lastAt).toISOString(),
        last_message: g.lastMessage,
      })),
    },
    200,
  );
});
