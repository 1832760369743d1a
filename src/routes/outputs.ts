/**
 * `GET /v1/jobs/{id}/outputs/{name}`: an output's bytes, streamed from R2 with its sniffed content
 * type, and headers that keep any output from running script (src/outputs/response-headers.ts).
 * Either the owner's credentials or a valid short-lived signature (`expires` + `signature`, as in
 * the job's `outputs[].url`) grants access; anything else is a 401 or a 404 that says nothing
 * about whether the job exists. `DELETE /v1/jobs/{id}/outputs` removes an ended job's outputs for
 * good (R2 and D1); the job stays.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { authenticate } from "../auth/authenticate.ts";
import { createDb } from "../db/client.ts";
import { getOwnedJob } from "../db/jobs.ts";
import { allOutputsOf, deleteOutputsOf, outputOf } from "../db/outputs.ts";
import { ProblemError } from "../http/problem.ts";
import { contentDisposition, outputSecurityHeaders, servedType } from "../outputs/response-headers.ts";
import { type SignedAccessEnv, SignedUrlQuery, signedJobAccess } from "../outputs/signed-access.ts";
import { commonProblems, conflictProblem, notFoundProblem } from "./problem.schemas.ts";
import { newRouter, userSecurity } from "./router.ts";

const Params = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
  name: z
    .string()
    .max(200)
    .openapi({ param: { name: "name", in: "path" } }),
});
/** Signed URL → the job it names; otherwise the usual authentication. */
const outputAccess = signedJobAccess((c) => c.req.param("name") ?? "", "This output link is invalid or has expired; read the job again for a fresh one.");

const downloadRoute = createRoute({
  method: "get",
  path: "/{id}/outputs/{name}",
  summary: "Download an output",
  description:
    "With the owner's credentials, or without any using the signed `url` from the job or its events (valid OUTPUT_URL_TTL_SECONDS). " +
    "An output is served from the moment a `job.output` event announces it while the job runs, and once the job succeeded; not for a failed or cancelled job. " +
    "The type is read from the bytes: PNG, JPEG, WebP, GIF, MP4, WebM, WAV, MP3, FLAC, Ogg, JSON and plain text are served inline with that type, " +
    "anything else as an `application/octet-stream` attachment; every answer carries `Content-Security-Policy: default-src 'none'; sandbox` and `X-Content-Type-Options: nosniff`.",
  tags: ["jobs"],
  security: [...userSecurity, {}],
  // Security headers first, so that they are on every answer, a refused link's 401 included.
  middleware: [outputSecurityHeaders, outputAccess],
  request: { params: Params, query: SignedUrlQuery },
  responses: {
    200: { description: "The file", content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
    ...commonProblems,
    ...notFoundProblem,
  },
});

const DeletedOutputs = z
  .object({
    job_id: z.string(),
    deleted: z.number().int().openapi({ description: "Output files removed (every attempt's)." }),
    bytes: z.number().int().openapi({ description: "Their total size." }),
  })
  .openapi("DeletedOutputs");

const deleteRoute = createRoute({
  method: "delete",
  path: "/{id}/outputs",
  summary: "Delete a job's outputs",
  description:
    "Removes every output file of an ended job from storage, for good: its links (signed or not) stop working and the job lists no outputs. The job itself stays. " +
    "A queued or running job is a 409 (cancel it, or wait for its end). Deleting again removes nothing and answers `deleted: 0`.",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  request: { params: Params.pick({ id: true }) },
  responses: {
    200: { description: "What was removed", content: { "application/json": { schema: DeletedOutputs } } },
    ...commonProblems,
    ...notFoundProblem,
    ...conflictProblem,
  },
});

/** R2 deletes at most this many keys a call. */
const R2_DELETE_BATCH = 1000;

export const outputRoutes = newRouter()
  .openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = createDb(c.env.DB);
    const job = await getOwnedJob(db, c.var.principal, id);
    if (!job) throw new ProblemError("not-found", `No job ${id} for this user.`);
    if (job.status === "queued" || job.status === "running") {
      throw new ProblemError("conflict", `Job ${id} is ${job.status}; its outputs can be deleted once it has ended (cancel it first to stop it now).`);
    }
    // The files first, then the rows: a failure half-way leaves rows that a retry deletes again,
    // never a row pointing at nothing.
    const rows = await allOutputsOf(db, id);
    for (let i = 0; i < rows.length; i += R2_DELETE_BATCH) await c.env.BLOBS.delete(rows.slice(i, i + R2_DELETE_BATCH).map((r) => r.r2Key));
    const deleted = await deleteOutputsOf(db, id);
    c.var.log.info("job_outputs_deleted", { job_id: id, deleted });
    return c.json({ job_id: id, deleted, bytes: rows.reduce((n, r) => n + r.size, 0) }, 200);
  })
  .openapi(downloadRoute, async (c) => {
    const { id, name } = c.req.valid("param");
    const db = createDb(c.env.DB);
    const vars = c.var as SignedAccessEnv["Variables"];
    const job = vars.signedJob ?? (await getOwnedJob(db, vars.principal, id));
    const missing = () => new ProblemError("not-found", `No output ${name} for job ${id}.`);
    // The outputs of the job's current attempt from the moment each is stored (job.output events
    // link to them while it runs), and for good once it succeeds. A job that failed or was cancelled
    // lists none, and a queued one (after a retry) has not made its own yet.
    if (job?.status !== "succeeded" && job?.status !== "running") throw missing();
    const output = await outputOf(db, job.id, job.attempt, name);
    if (!output) throw missing();
    const object = await c.env.BLOBS.get(output.r2Key);
    if (!object) throw missing();
    const served = servedType(output.contentType);
    return new Response(object.body, {
      status: 200,
      headers: {
        "Content-Type": served.contentType,
        "Content-Length": String(object.size),
        "Content-Disposition": contentDisposition(served.disposition, output.name),
        ETag: `"${output.sha256}"`,
        "Cache-Control": "private, max-age=300",
      },
    }) as never;
  });
