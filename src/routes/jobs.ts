/**
 * `/v1/jobs`: submit, read, list and cancel jobs. Every operation is scoped to the caller's
 * (tenant, user): another tenant's or user's job is a 404, never a 403.
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { authenticate } from "../auth/authenticate.ts";
import { createDb } from "../db/client.ts";
import { getOwnedJob, listOwnedJobs } from "../db/jobs.ts";
import type { JobRow } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { preferredWaitSeconds } from "../feed/prefer-wait.ts";
import { ProblemError } from "../http/problem.ts";
import { cancelJob } from "../jobs/cancel.ts";
import { type PresentContext, presentJob, presentJobs } from "../jobs/present.ts";
import { submitJob } from "../jobs/submit.ts";
import { IdempotencyHeader, JobIdParam, JobListSchema, JobSchema, ListJobsQuery, PreferHeader, SubmitJobBody } from "./jobs.schemas.ts";
import { pageOf, pageStart } from "./pagination.ts";
import { commonProblems, conflictProblem, notFoundProblem, rateLimitedProblem } from "./problem.schemas.ts";
import { newRouter, userSecurity } from "./router.ts";

const jobJson = (description: string) => ({ description, content: { "application/json": { schema: JobSchema } } });

const submitJobRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Submit a ComfyUI workflow",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  description:
    "Admission is strict: a user's and a tenant's active (queued + running) jobs and the tenant's submissions per 60 s never exceed their limits (429 with `Retry-After`, `RateLimit-Policy` and `RateLimit`). With `Idempotency-Key`, a retry of the same request returns the original job (`Idempotent-Replayed: true`) and takes no second slot; keys are kept 24 h. With `Prefer: wait=N` the answer waits up to N seconds for the job to end: `200` with the finished job and `Preference-Applied: wait=N`, else the usual `202`.",
  request: {
    headers: IdempotencyHeader.extend(PreferHeader.shape),
    body: { required: true, content: { "application/json": { schema: SubmitJobBody } } },
  },
  responses: {
    200: jobJson("With `Prefer: wait=N`: the job ended within N seconds"),
    202: jobJson("Accepted and queued (or the original job, for a replayed Idempotency-Key)"),
    ...commonProblems,
    ...conflictProblem,
    ...rateLimitedProblem,
  },
});

const getJob = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a job",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  description:
    "With `Prefer: wait=N` (RFC 7240; N up to PREFER_WAIT_MAX_SECONDS) the answer waits up to N seconds for a queued or running job to end; it carries `Preference-Applied: wait=N` when the job it returns has ended.",
  request: { params: JobIdParam, headers: PreferHeader },
  responses: { 200: jobJson("The job"), ...commonProblems, ...notFoundProblem },
});

const listJobs = createRoute({
  method: "get",
  path: "/",
  summary: "List the caller's jobs, newest first",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  request: { query: ListJobsQuery },
  responses: { 200: { description: "A page of jobs", content: { "application/json": { schema: JobListSchema } } }, ...commonProblems },
});

const cancelRoute = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Cancel a queued or running job",
  description:
    "A queued job is cancelled at once. A running job gets `cancel_requested_at` and becomes `cancelled` when its GPU host confirms. Cancelling a cancelled job returns it again; a job that succeeded or failed is a 409.",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  request: { params: JobIdParam },
  responses: { 200: jobJson("The job after the cancel request"), ...commonProblems, ...notFoundProblem, ...conflictProblem },
});

const jobNotFound = (id: string) => new ProblemError("not-found", `No job ${id} for this user.`);

export function presentContext(c: Context<AppEnv>): PresentContext {
  return { env: c.env, config: c.var.config, log: c.var.log, baseUrl: new URL(c.req.url).origin };
}

const ended = (row: JobRow) => row.status !== "queued" && row.status !== "running";

/**
 * `Prefer: wait=N`: holds the request until the job ends or N seconds pass, on the job's feed
 * (durable-objects/job-feed.ts, which hears of the end as it happens: nothing polls D1), then
 * reads the job once. Undefined when the client did not ask to wait or the job is gone.
 */
async function waitForEnd(c: Context<AppEnv>, id: string, seconds: number): Promise<JobRow | undefined> {
  await c.env.JOB_FEED.getByName(id).waitForEnd(seconds * 1000);
  return getOwnedJob(createDb(c.env.DB), c.var.principal, id);
}

export const jobRoutes = newRouter()
  .openapi(submitJobRoute, async (c) => {
    const outcome = await submitJob({ ...presentContext(c), principal: c.var.principal }, c.req.valid("json"), c.req.header("Idempotency-Key"));
    for (const [name, value] of Object.entries(outcome.headers)) c.header(name, value);
    c.header("Location", `/v1/jobs/${outcome.job.id}`);
    if (outcome.replayed) c.header("Idempotent-Replayed", "true");
    const wait = preferredWaitSeconds(c.req.header("Prefer"), c.var.config.PREFER_WAIT_MAX_SECONDS);
    if (wait === undefined) return c.json(outcome.job, 202);
    c.header("Vary", "Prefer");
    const row = await waitForEnd(c, outcome.job.id, wait);
    if (row && ended(row)) {
      c.header("Preference-Applied", `wait=${wait}`);
      return c.json(await presentJob(presentContext(c), row), 200);
    }
    return c.json(row ? await presentJob(presentContext(c), row) : outcome.job, 202);
  })
  .openapi(getJob, async (c) => {
    const { id } = c.req.valid("param");
    let row = await getOwnedJob(createDb(c.env.DB), c.var.principal, id);
    if (!row) throw jobNotFound(id);
    const wait = preferredWaitSeconds(c.req.header("Prefer"), c.var.config.PREFER_WAIT_MAX_SECONDS);
    if (wait !== undefined) {
      c.header("Vary", "Prefer");
      if (!ended(row)) row = (await waitForEnd(c, id, wait)) ?? row;
      if (ended(row)) c.header("Preference-Applied", `wait=${wait}`);
    }
    return c.json(await presentJob(presentContext(c), row), 200);
  })
  .openapi(listJobs, async (c) => {
    const query = c.req.valid("query");
    const before = pageStart(query.cursor, "job");
    const rows = await listOwnedJobs(createDb(c.env.DB), c.var.principal, {
      limit: query.limit + 1,
      ...(query.status ? { status: query.status } : {}),
      ...(before ? { before } : {}),
    });
    const page = pageOf(rows, query.limit);
    return c.json({ data: await presentJobs(presentContext(c), page.rows), next_cursor: page.next_cursor }, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid("param");
    const outcome = await cancelJob({ env: c.env, db: createDb(c.env.DB), log: c.var.log }, c.var.principal, id);
    if (outcome.kind === "not-found") throw jobNotFound(id);
    return c.json(await presentJob(presentContext(c), outcome.job), 200);
  });
