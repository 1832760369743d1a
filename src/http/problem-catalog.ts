/**
 * The catalogue of problem types (RFC 9457) this API returns. Each `type` is a stable URI that
 * clients may switch on; `docs/problems.md` is generated from this table.
 */

export const PROBLEM_BASE = "https://comfyui-saas.dev/problems/";

export interface ProblemKind {
  status: number;
  title: string;
  /** When a client sees it, and what to do. */
  doc: string;
}

export const problemCatalog = {
  unauthenticated: {
    status: 401,
    title: "Authentication required",
    doc: "No credentials, or credentials that are malformed, unknown, revoked or expired. The `WWW-Authenticate` header says which.",
  },
  "invalid-user-id": {
    status: 400,
    title: "Invalid end-user id",
    doc: "`X-User-ID` is missing (API keys need it) or does not match `^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`.",
  },
  "not-found": {
    status: 404,
    title: "Not found",
    doc: "No such route, or no such resource visible to the caller (another tenant's or user's job is never revealed).",
  },
  "method-not-allowed": {
    status: 405,
    title: "Method not allowed",
    doc: "The route exists but not with this method; `Allow` lists the methods it has.",
  },
  "malformed-json": {
    status: 400,
    title: "Malformed JSON",
    doc: "The body is not valid JSON.",
  },
  "unsupported-media-type": {
    status: 415,
    title: "Unsupported media type",
    doc: "The body must be sent with `Content-Type: application/json`.",
  },
  "payload-too-large": {
    status: 413,
    title: "Payload too large",
    doc: "The body is larger than `MAX_REQUEST_BODY_BYTES`.",
  },
  "validation-failed": {
    status: 422,
    title: "Validation failed",
    doc: "The request is well-formed JSON but breaks the schema; `errors[]` holds a JSON pointer and a detail for each problem.",
  },
  "invalid-query": {
    status: 400,
    title: "Invalid query parameters",
    doc: "A query or path parameter is out of range or malformed; `errors[]` says which.",
  },
  "invalid-workflow": {
    status: 422,
    title: "Invalid workflow",
    doc: "`workflow` is not a ComfyUI API-format prompt (for example a UI-format graph was sent), breaks a limit, or would fail ComfyUI's own validation on every live host of the pool (unknown class, missing input, wrong type, out of range, value not in the list, bad link); `errors[]` points at each problem, with ComfyUI's error type in `code`.",
  },
  "missing-model": {
    status: 422,
    title: "Model not available",
    doc: "A model file the workflow names (checkpoint, LoRA, VAE, …) is on no live GPU host of the pool; `models` lists them, `available_in` the pools the tenant may use whose live hosts have them, and `errors[]` points at each input. `POST /v1/workflows/validate` answers the same without submitting.",
  },
  "unsafe-source-url": {
    status: 422,
    title: "Input URL refused",
    doc: "An image input URL was refused or could not be fetched safely; `reason` says which check (scheme, userinfo, port, host, private-address, dns, redirect, redirect-limit, timeout, network, http-status) and `errors[].pointer` where it is in the workflow.",
  },
  "invalid-image-input": {
    status: 422,
    title: "Invalid image input",
    doc: "An image input (URL, `data:` URI or upload) is not an acceptable image; `reason` says why (too-large, not-an-image, svg, too-many-pixels, bad-data-uri, upload-not-found).",
  },
  "invalid-input": {
    status: 422,
    title: "File input refused",
    doc: "A loader's file input (LoadImage `image`, LoadAudio `audio`, …) is not an `https://`/`http://` URL, a `data:` URI or `upload:<id>`. File names, paths, `..`, ` [input]`/` [output]`/` [temp]` suffixes, other schemes and links from other nodes are never accepted; `errors[].pointer` says which input.",
  },
  "node-class-not-allowed": {
    status: 422,
    title: "Node class not allowed",
    doc: "The workflow uses a node class this service never runs (it reads or writes arbitrary files or the network, or writes model files); `errors[]` names each node.",
  },
  "json-too-deep": {
    status: 400,
    title: "JSON nested too deeply",
    doc: "The body nests arrays or objects deeper than 64 levels. No workflow needs that; flatten the value.",
  },
  "workflow-too-large": {
    status: 413,
    title: "Workflow too large",
    doc: "The serialized `workflow` is larger than `MAX_WORKFLOW_BYTES`. Send big inputs with `POST /v1/uploads` and reference them as `upload:<id>`.",
  },
  "unknown-pool": {
    status: 422,
    title: "Unknown GPU pool",
    doc: "A `pool` (in a submit, a host registration or a tenant's `default_pool`/`allowed_pools`) names no GPU pool. `GET /v1/admin/pools` lists them; omit `pool` on a submit to use the tenant's default.",
  },
  "pool-not-allowed": {
    status: 422,
    title: "GPU pool not allowed",
    doc: "The job would run in a pool outside the tenant's `allowed_pools` (named in `pool`, or the tenant's default); `allowed_pools` lists the ones it may use.",
  },
  "model-quota": {
    status: 403,
    title: "Model quota reached",
    doc: "The tenant's private model files would exceed TENANT_MAX_MODELS files or TENANT_MODEL_BYTES bytes; `limit` and `current` say which. Delete some (`DELETE /v1/models/{id}`) first.",
  },
  "unknown-model": {
    status: 422,
    title: "Unknown model file",
    doc: "A workflow input names `tenant:<name>` (or `tenant:<folder>/<name>`) and the tenant has no such model file, or it is not ready yet (still uploading or verifying); `errors[]` points at the input.",
  },
  "uploads-per-day": {
    status: 429,
    title: "Too many uploads today",
    doc: "The tenant stored `limit` uploads in the last 24 hours. `Retry-After` says when the oldest leaves the window.",
  },
  "upload-bytes-per-day": {
    status: 429,
    title: "Upload volume for today used up",
    doc: "The tenant's uploads in the last 24 hours add up to `limit` bytes with this one. `Retry-After` says when enough leaves the window.",
  },
  "invalid-cursor": {
    status: 400,
    title: "Invalid cursor",
    doc: "`cursor` was not produced by this API; pass back `next_cursor` unchanged.",
  },
  "active-jobs-per-user": {
    status: 429,
    title: "Too many active jobs for this user",
    doc: "The end-user already has `limit` queued or running jobs. Retry after `Retry-After` seconds or when one finishes; `limit` and `current` say where you stand.",
  },
  "spend-cap-reached": {
    status: 429,
    title: "Monthly GPU time used up",
    doc: "The tenant's jobs used its `limits.gpu_seconds_per_month` this UTC month; submits are refused until the month ends (`Retry-After`) or an operator raises the cap. Jobs already queued still run.",
  },
  "storage-quota-exceeded": {
    status: 429,
    title: "Storage quota reached",
    doc: "The tenant's outputs, uploads and private model files take up its `limits.storage_bytes` (`current` of `limit`): submits are refused, and so is an upload or model file that would go past it. Delete outputs or model files, or wait for retention to erase old jobs; an operator can raise the quota.",
  },
  "active-jobs-per-tenant": {
    status: 429,
    title: "Too many active jobs for this tenant",
    doc: "The tenant already has `limit` queued or running jobs across its users. Retry after `Retry-After` seconds.",
  },
  "requests-per-minute": {
    status: 429,
    title: "Too many submissions this minute",
    doc: "The tenant made `limit` submissions in the last 60 seconds. `Retry-After` says when the oldest leaves the window.",
  },
  "too-many-streams": {
    status: 429,
    title: "Too many event streams on this job",
    doc: "The job already has `limit` open event streams (EVENT_STREAMS_PER_JOB). Close one, or share one stream among your clients; retry after `Retry-After` seconds.",
  },
  "invalid-last-event-id": {
    status: 400,
    title: "Invalid Last-Event-ID",
    doc: "`Last-Event-ID` (or `last_event_id`) must be the `id` of an event this job's stream sent: a whole number. Omit it to read the stream from the start.",
  },
  "previews-off": {
    status: 422,
    title: "Previews are off",
    doc: "GPU hosts only: the job's pool does not forward sampler previews (or did not when the job was dispatched); send none for this job.",
  },
  "invalid-idempotency-key": {
    status: 400,
    title: "Invalid Idempotency-Key",
    doc: "`Idempotency-Key` must be a quoted string (or a bare token) of 1-255 printable ASCII characters; a UUID is a good choice.",
  },
  "idempotency-key-reused": {
    status: 422,
    title: "Idempotency-Key reused with a different request",
    doc: "This key was used in the last 24 hours for a different body or user. Use a new key for a new request.",
  },
  "idempotency-key-in-flight": {
    status: 409,
    title: "Request with this Idempotency-Key is still in progress",
    doc: "The first request with this key has not finished; retry the same request in a moment to get its result.",
  },
  "job-not-cancellable": {
    status: 409,
    title: "Job cannot be cancelled",
    doc: "The job already succeeded or failed; the `job_status` extension says which.",
  },
  "stale-lease": {
    status: 409,
    title: "Stale lease",
    doc: "GPU hosts only: the job's (attempt, lease) named in the call is no longer the current one; the host must drop the job.",
  },
  conflict: {
    status: 409,
    title: "Conflict",
    doc: "The change clashes with existing state (for example a JWT issuer already used by another tenant).",
  },
  "unsafe-webhook-url": {
    status: 422,
    title: "Webhook URL not allowed",
    doc: "`webhook.url` fails the outbound URL policy (https only, no credentials, allowed ports, no private, loopback, link-local or metadata addresses, by literal or by DNS). `reason` names the rule; `detail` says what to change.",
  },
  "no-webhook-event": {
    status: 409,
    title: "No webhook event to redeliver",
    doc: "The job has no webhook, or none of the events it subscribed to has happened yet.",
  },
  "last-webhook-secret": {
    status: 409,
    title: "Last active webhook secret",
    doc: "A tenant always keeps at least one active webhook secret: add a new one (`POST …/webhook-secrets`) before retiring this one.",
  },
  misconfigured: {
    status: 503,
    title: "Service misconfigured",
    doc: "The deployment's configuration is invalid; `problems[]` names each setting. Operators: see docs/config.md.",
  },
  unavailable: {
    status: 503,
    title: "Service unavailable",
    doc: "A dependency (database, quota object) did not answer; retry after `Retry-After` seconds. Nothing was written.",
  },
  "internal-error": {
    status: 500,
    title: "Internal error",
    doc: "A bug. Quote `request_id` when reporting it.",
  },
} as const satisfies Record<string, ProblemKind>;

export type ProblemSlug = keyof typeof problemCatalog;

export function renderProblemsDoc(): string {
  const lines = [
    "# Problem types",
    "",
    "<!-- Generated by `npm run config:gen` from src/http/problem-catalog.ts. Do not edit by hand. -->",
    "",
    "Every error is `application/problem+json` (RFC 9457) with `type`, `title`, `status`, `detail`",
    "and `request_id`. `type` is one of the URIs below; `detail` is written for a person and may change.",
    "",
    "| type | status | when |",
    "|---|---|---|",
  ];
  for (const [slug, kind] of Object.entries(problemCatalog) as [ProblemSlug, ProblemKind][]) {
    lines.push(`| \`${PROBLEM_BASE}${slug}\` | ${kind.status} | ${kind.doc.replaceAll("|", "\\|")} |`);
  }
  lines.push("");
  return lines.join("\n");
}
