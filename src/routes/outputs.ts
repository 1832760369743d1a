/**
 * `GET /v1/jobs/{id}/outputs/{name}`: an output's bytes, streamed from R2 with its sniffed content
 * type, and headers that keep any output from running script (src/outputs/response-headers.ts).
 * Either the owner's credentials or a valid short-lived signature (`expires` + `signature`, as in
 * the job's `outputs[].url`) grants access; anything else is a 401 or a 404 that says nothing
 * about whether the job exists.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../db/client.ts";
import { getOwnedJob } from "../db/jobs.ts";
import { outputOf } from "../db/outputs.ts";
import { ProblemError } from "../http/problem.ts";
import { contentDisposition, outputSecurityHeaders, servedType } from "../outputs/response-headers.ts";
import { type SignedAccessEnv, SignedUrlQuery, signedJobAccess } from "../outputs/signed-access.ts";
import { commonProblems, notFoundProblem } from "./problem.schemas.ts";
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

export const outputRoutes = newRouter().openapi(downloadRoute, async (c) => {
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
