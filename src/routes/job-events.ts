/**
 * Watching a job (issue 15): `GET /v1/jobs/{id}/events`, its Server-Sent Events stream, and
 * `GET /v1/jobs/{id}/preview`, the latest sampler preview frame. Both are served by the job's
 * JobFeed (durable-objects/job-feed.ts); this route only checks that the caller owns the job
 * (another tenant's or user's job is a 404, as everywhere) and reads D1 once per connection, never
 * while a stream is open.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { authenticate } from "../auth/authenticate.ts";
import { createDb } from "../db/client.ts";
import { getOwnedJob } from "../db/jobs.ts";
import { outputsOf } from "../db/outputs.ts";
import { FEED_EVENT_DATA, FEED_EVENT_TYPES, feedEventSchemaName } from "../feed/events.ts";
import { originOf, terminalInput } from "../feed/publish.ts";
import { resumeAfter } from "../feed/sse.ts";
import { ProblemError } from "../http/problem.ts";
import { OUTPUT_SECURITY_HEADERS, outputSecurityHeaders } from "../outputs/response-headers.ts";
import { type SignedAccessEnv, SignedUrlQuery, signedJobAccess } from "../outputs/signed-access.ts";
import { PREVIEW_NAME } from "../outputs/signed-url.ts";
import { JobIdParam } from "./jobs.schemas.ts";
import { commonProblems, notFoundProblem, rateLimitedProblem } from "./problem.schemas.ts";
import { newRouter, userSecurity } from "./router.ts";

const LIVE = new Set(["queued", "running"]);

const EventsQuery = z
  .object({
    last_event_id: z
      .string()
      .max(16)
      .optional()
      .openapi({ param: { name: "last_event_id", in: "query" }, description: "As `Last-Event-ID`, for a first connection that cannot set headers." }),
  })
  .strict();

const EventsHeaders = z.object({
  "Last-Event-ID": z
    .string()
    .optional()
    .openapi({ param: { name: "Last-Event-ID", in: "header" }, description: "Resume after this event id: exactly the later events follow." }),
});

const streamDescription = [
  "A Server-Sent Events stream of the job, from its first event (or after `Last-Event-ID`) to its terminal event, after which the stream ends.",
  "Each event has an `id` that only grows (`id`, `event`, one JSON `data` line); a reconnect with `Last-Event-ID` gets exactly the events after it, also after the job ended (events are kept as long as the job).",
  "A comment line (`: keep-alive`) comes every EVENT_STREAM_KEEPALIVE_SECONDS; a stream is ended after EVENT_STREAM_MAX_SECONDS (reconnect with `Last-Event-ID`).",
  "Once the job ended and every event was sent, a request answers `204`, which tells EventSource to stop reconnecting.",
  "",
  "Events and their `data` (the schemas are in components):",
  ...FEED_EVENT_TYPES.map((t) => `- \`${t}\` (${feedEventSchemaName(t)}): ${FEED_EVENT_DATA[t].description ?? ""}`),
].join("\n");

const eventsRoute = createRoute({
  method: "get",
  path: "/{id}/events",
  summary: "Stream a job's events (SSE)",
  description: streamDescription,
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  request: { params: JobIdParam, query: EventsQuery, headers: EventsHeaders },
  responses: {
    200: {
      description: "The event stream",
      content: { "text/event-stream": { schema: z.string().openapi({ example: 'id: 3\nevent: job.progress\ndata: {"attempt":1,"percent":42.5,...}\n\n' }) } },
    },
    204: { description: "The job ended and the client has all its events" },
    ...commonProblems,
    ...notFoundProblem,
    429: rateLimitedProblem[429],
  },
});

/** As output downloads: a signed link (the `url` of a job.preview event) or the owner's credentials. */
const previewAccess = signedJobAccess(() => PREVIEW_NAME, "This preview link is invalid or has expired; use the url of a newer job.preview event.");

const previewRoute = createRoute({
  method: "get",
  path: "/{id}/preview",
  summary: "The latest sampler preview of a running job",
  description:
    "The newest preview frame a GPU host sent for the running attempt (JPEG or PNG), in pools with `previews` on and when ComfyUI makes previews. 404 when there is none: not running yet, previews off, or the job ended (its outputs are what remains). With the owner's credentials, or the signed `url` of a `job.preview` event.",
  tags: ["jobs"],
  security: [...userSecurity, {}],
  middleware: [outputSecurityHeaders, previewAccess],
  request: {
    params: JobIdParam,
    query: SignedUrlQuery,
  },
  responses: {
    200: { description: "The frame", content: { "image/jpeg": { schema: z.string().openapi({ format: "binary" }) } } },
    ...commonProblems,
    ...notFoundProblem,
  },
});

export const jobEventRoutes = newRouter()
  .openapi(eventsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const after = resumeAfter(c.req.header("Last-Event-ID"), c.req.valid("query").last_event_id);
    if (after === null) throw new ProblemError("invalid-last-event-id", "Last-Event-ID must be the id of an event of this stream (a whole number).");
    const db = createDb(c.env.DB);
    const row = await getOwnedJob(db, c.var.principal, id);
    if (!row) throw new ProblemError("not-found", `No job ${id} for this user.`);
    const feed = c.env.JOB_FEED.getByName(id);
    // An ended job's feed gets its terminal event from D1 if the publish after the change was lost
    // (a no-op when it has it), so a stream always ends.
    if (!LIVE.has(row.status)) await feed.publish(terminalInput(row, row.status === "succeeded" ? await outputsOf(db, id, row.attempt) : []), originOf(row));
    const answer = await feed.stream({ after: after ?? 0, urlOrigin: c.var.config.OUTPUTS_BASE_URL || new URL(c.req.url).origin, origin: originOf(row) });
    switch (answer.kind) {
      case "over":
        return c.body(null, 204) as never;
      case "too-many":
        throw new ProblemError("too-many-streams", `Job ${id} already has ${answer.limit} open event streams.`, {
          extensions: { limit: answer.limit },
          headers: { "Retry-After": "5" },
        });
      case "stream":
        return new Response(answer.body, {
          status: 200,
          headers: {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache, no-transform",
            // nginx and some proxies buffer responses unless told not to.
            "X-Accel-Buffering": "no",
          },
        }) as never;
    }
  })
  .openapi(previewRoute, async (c) => {
    const { id } = c.req.valid("param");
    const vars = c.var as SignedAccessEnv["Variables"];
    const job = vars.signedJob ?? (await getOwnedJob(createDb(c.env.DB), vars.principal, id));
    const none = () => new ProblemError("not-found", `Job ${id} has no preview now.`);
    if (job?.status !== "running") throw none();
    const frame = await c.env.JOB_FEED.getByName(id).preview();
    if (!frame || frame.attempt !== job.attempt) throw none();
    return new Response(frame.bytes, {
      status: 200,
      headers: {
        "Content-Type": frame.contentType,
        "Content-Length": String(frame.bytes.length),
        "Cache-Control": "no-store",
        "Last-Modified": new Date(frame.at).toUTCString(),
        ...OUTPUT_SECURITY_HEADERS,
      },
    }) as never;
  });
