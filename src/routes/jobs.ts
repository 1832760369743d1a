/**
 * `/v1/jobs`: submit, read, list and cancel jobs. Every operation is scoped to the caller's
 * (tenant, user): another tenant's or user's job is a 404, never a 403.
 */
import { createRoute } from "@hono/zod-openapi";
import { authenticate } from "../auth/authenticate.ts";
import { createDb } from "../db/client.ts";
import { cancelQueuedJob, getOwnedJob, insertJob, listOwnedJobs, requestCancelRunning } from "../db/jobs.ts";
import { ProblemError } from "../http/problem.ts";
import { newId } from "../lib/ids.ts";
import { decodeCursor, encodeCursor } from "../jobs/cursor.ts";
import { jobView } from "../jobs/view.ts";
import { checkWorkflow } from "../jobs/workflow.ts";
import { JobIdParam, JobListSchema, JobSchema, ListJobsQuery, SubmitJobBody } from "./jobs.schemas.ts";
import { commonProblems, conflictProblem, notFoundProblem } from "./problem.schemas.ts";
import { newRouter, userSecurity } from "./router.ts";

const jobJson = (description: string) => ({ description, content: { "application/json": { schema: JobSchema } } });

const submitJob = createRoute({
  method: "post",
  path: "/v1/jobs",
  summary: "Submit a ComfyUI workflow",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  request: { body: { required: true, content: { "application/json": { schema: SubmitJobBody } } } },
  responses: { 202: jobJson("Accepted and queued"), ...commonProblems },
});

const getJob = createRoute({
  method: "get",
  path: "/v1/jobs/{id}",
  summary: "Get a job",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  request: { params: JobIdParam },
  responses: { 200: jobJson("The job"), ...commonProblems, ...notFoundProblem },
});

const listJobs = createRoute({
  method: "get",
  path: "/v1/jobs",
  summary: "List the caller's jobs, newest first",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  request: { query: ListJobsQuery },
  responses: { 200: { description: "A page of jobs", content: { "application/json": { schema: JobListSchema } } }, ...commonProblems },
});

const cancelJob = createRoute({
  method: "delete",
  path: "/v1/jobs/{id}",
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

export const jobRoutes = newRouter()
  .openapi(submitJob, async (c) => {
    const body = c.req.valid("json");
    const { config, principal } = c.var;
    const check = checkWorkflow(body.workflow, config.MAX_WORKFLOW_NODES);
    if (!check.ok) throw new ProblemError("invalid-workflow", check.detail, { extensions: { errors: check.errors } });

    const now = Date.now();
    const job = {
      id: newId("job"),
      tenantId: principal.tenantId,
      userId: principal.userId,
      status: "queued" as const,
      createdAt: now,
      updatedAt: now,
      queueDeadlineAt: now + config.QUEUED_TIMEOUT_SECONDS * 1000,
      attempt: 0,
      nodeCount: check.nodeCount,
      metadata: body.metadata ?? null,
      webhookUrl: body.webhook?.url ?? null,
      webhookEvents: body.webhook?.events ?? null,
    };
    try {
      await insertJob(createDb(c.env.DB), job, body.workflow);
    } catch (err) {
      c.var.log.error("job_insert_failed", { job_id: job.id, error_message: err instanceof Error ? err.message : String(err) });
      throw new ProblemError("unavailable", "The job could not be stored; nothing was created. Try again.", { headers: { "Retry-After": "2" } });
    }
    c.var.log.info("job_submitted", { job_id: job.id, tenant_id: job.tenantId, nodes: job.nodeCount });
    const view = jobView({ ...job, startedAt: null, finishedAt: null, cancelRequestedAt: null, progress: null, error: null });
    c.header("Location", `/v1/jobs/${job.id}`);
    return c.json(view, 202);
  })
  .openapi(getJob, async (c) => {
    const { id } = c.req.valid("param");
    const row = await getOwnedJob(createDb(c.env.DB), c.var.principal, id);
    if (!row) throw jobNotFound(id);
    return c.json(jobView(row), 200);
  })
  .openapi(listJobs, async (c) => {
    const query = c.req.valid("query");
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (before === null) throw new ProblemError("invalid-cursor", "`cursor` is not one this API produced; pass back `next_cursor` unchanged.");
    // One row more than asked says whether another page exists without a count query.
    const rows = await listOwnedJobs(createDb(c.env.DB), c.var.principal, {
      limit: query.limit + 1,
      ...(query.status ? { status: query.status } : {}),
      ...(before ? { before } : {}),
    });
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > query.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null;
    return c.json({ data: page.map(jobView), next_cursor: nextCursor }, 200);
  })
  .openapi(cancelJob, async (c) => {
    const { id } = c.req.valid("param");
    const db = createDb(c.env.DB);
    const owner = c.var.principal;
    const now = Date.now();
    const row = (await cancelQueuedJob(db, owner, id, now)) ?? (await requestCancelRunning(db, owner, id, now)) ?? (await getOwnedJob(db, owner, id));
    if (!row) throw jobNotFound(id);
    if (row.status === "succeeded" || row.status === "failed") {
      throw new ProblemError("job-not-cancellable", `Job ${id} already ${row.status}; only queued or running jobs can be cancelled.`, {
        extensions: { job_status: row.status },
      });
    }
    if (row.status === "cancelled" && row.finishedAt === now) c.var.log.info("job_cancelled", { job_id: id });
    return c.json(jobView(row), 200);
  });
