/**
 * Every variable and binding the edge Worker reads, with its default and its documentation.
 *
 * This table is the only place a default lives: `src/config/load.ts` parses the Worker's env with
 * it, and `npm run config:gen` renders `.env.example` and `docs/config.md` from it (a test fails
 * when the committed files drift). Defaults are the safe, cheap choice for a new deployment.
 */
import { z } from "zod";
import { publishedKeysProblem } from "../hosts/edge-keys.ts";
import { isHostPatternList } from "../lib/host-patterns.ts";
import { parseKeyList } from "../lib/key-list.ts";
import { DEFAULT_DENIED_NODE_CLASSES, DEFAULT_FILE_INPUTS, isClassList, isFileInputList } from "../protocol/node-policy.ts";
import { DEFAULT_DOH_ENDPOINT } from "../ssrf/dns.ts";
import { DEFAULT_PORTS } from "../ssrf/url-policy.ts";
import { DEFAULT_RETRY_SCHEDULE, parseSchedule } from "../webhooks/schedule.ts";

export type SettingKind = "var" | "secret" | "binding";

export interface Setting {
  /** zod schema applied to the raw value (strings from the environment, or binding objects). */
  schema: z.ZodType;
  kind: SettingKind;
  /** One or two sentences for the config reference. */
  doc: string;
  /** Allowed only outside production (the Worker refuses to serve in production when set). */
  devOnly?: boolean;
  /** Shown in .env.example instead of the default (secrets have no default). */
  example?: string;
}

const positiveInt = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** A binding is an object provided by the runtime; its absence is a deployment error. */
const binding = (what: string) => z.custom<object>((v) => typeof v === "object" && v !== null, { message: `the ${what} binding is missing` });

/** `k2:<base64 of 32 bytes>,k1:…`, newest first (src/lib/key-list.ts says why and checks it). */
const keyList = z.string().superRefine((v, ctx) => {
  const parsed = parseKeyList(v);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.problem });
});

/** An Ed25519 private key as a JWK with a `kid`: signs the edge's requests to GPU hosts. */
const edgeSigningKey = z.string().refine((v) => {
  try {
    const jwk = JSON.parse(v) as Record<string, unknown>;
    return jwk.kty === "OKP" && jwk.crv === "Ed25519" && typeof jwk.d === "string" && typeof jwk.x === "string" && typeof jwk.kid === "string";
  } catch {
    return false;
  }
}, "must be an Ed25519 private JWK with kid (npm run keys:edge prints one)");

/** Public Ed25519 JWKs published beside the signing key (src/hosts/edge-keys.ts checks them). */
const publishedKeys = z.string().superRefine((v, ctx) => {
  const problem = publishedKeysProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const settings = {
  ENVIRONMENT: {
    kind: "var",
    schema: z.enum(["development", "test", "production"]).default("development"),
    doc: "Where this Worker runs. `production` refuses to serve while a secret is missing or a dev-only setting is on.",
  },
  ADMIN_TOKEN: {
    kind: "secret",
    schema: z.string().min(32, "must be at least 32 characters (openssl rand -hex 32)"),
    doc: "Bearer token for `/v1/admin/*`. Compared in constant time. `npm run dev` writes a random one to `.dev.vars`.",
    example: "<openssl rand -hex 32>",
  },
  DATA_ENCRYPTION_KEYS: {
    kind: "secret",
    schema: keyList,
    doc: "AES-256-GCM keys that encrypt secrets at rest in D1 (tenants' webhook signing secrets, GPU hosts' secrets): `<key id>:<base64 of 32 bytes>`, comma-separated, newest first. The newest encrypts, every listed key decrypts; the cron moves stored values to the newest key and `GET /v1/admin/encryption` counts what is still under each (docs/RUNBOOK.md: rotating it).",
    example: "k1:<openssl rand -base64 32>",
  },
  OUTPUT_URL_KEYS: {
    kind: "secret",
    schema: keyList,
    doc: "HMAC keys of the signed output and preview URLs, in the same format as DATA_ENCRYPTION_KEYS (newest first): the newest signs, every listed key verifies, and each URL names its key, so links minted before a rotation work until they expire while the old key stays listed.",
    example: "u1:<openssl rand -base64 32>",
  },
  EDGE_SIGNING_KEY: {
    kind: "secret",
    schema: edgeSigningKey,
    doc: "Ed25519 private JWK (with `kid`) that signs dispatch and cancel requests to GPU hosts; hosts pin its public half from `/v1/hosts/jwks.json`.",
    example: "<npm run keys:edge>",
  },
  EDGE_PUBLISHED_KEYS: {
    kind: "var",
    schema: publishedKeys.optional(),
    doc: 'During an EDGE_SIGNING_KEY rollover: public Ed25519 JWKs (a JWKS `{"keys": [...]}`) published to hosts beside the signing key\'s: first the next key (pinned by hosts before it signs), then the previous one (still accepted after the switch). Hosts learn them from signed heartbeat replies (docs/RUNBOOK.md). Public halves only; empty otherwise.',
  },
  HOST_SECRET_OVERLAP_SECONDS: {
    kind: "var",
    schema: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .default(86_400),
    doc: "After `POST /v1/admin/hosts/{id}/secret` without `overlap_seconds`: how long the host's previous secret stays valid beside the new one (60 s to 7 days), time to restart the host with the new HOST_SECRET.",
  },
  REENCRYPT_BATCH_ROWS: {
    kind: "var",
    schema: z.coerce.number().int().min(0).max(1000).default(100),
    doc: "Stored secrets the cron moves to the newest DATA_ENCRYPTION_KEYS key per run (0: only `POST /v1/admin/encryption/reencrypt` does).",
  },
  MAX_ACTIVE_JOBS_PER_USER: {
    kind: "var",
    schema: positiveInt(5, 10_000),
    doc: "Default cap on one end-user's active (queued + running) jobs. A tenant's own limit overrides it.",
  },
  MAX_ACTIVE_JOBS_PER_TENANT: {
    kind: "var",
    schema: positiveInt(50, 1_000_000),
    doc: "Default cap on a tenant's active (queued + running) jobs across all its users. A tenant's own limit overrides it.",
  },
  REQUESTS_PER_MINUTE: {
    kind: "var",
    schema: positiveInt(120, 1_000_000),
    doc: "Default number of job submissions a tenant may make in any 60-second window. A tenant's own limit overrides it.",
  },
  QUEUED_TIMEOUT_SECONDS: {
    kind: "var",
    schema: positiveInt(900, 7 * 24 * 3600),
    doc: "A job still waiting for a GPU this long after submission fails with `queue_timeout`. Keep it well above a cold start under peak load (the old system's 240 s was not).",
  },
  JOB_TIMEOUT_SECONDS: {
    kind: "var",
    schema: positiveInt(1800, 24 * 3600),
    doc: "A job running longer than this on its GPU host is interrupted and fails with `timeout`.",
  },
  MAX_ATTEMPTS: {
    kind: "var",
    schema: positiveInt(3, 10),
    doc: "Dispatches a job may get when hosts are lost (`host_lost`, `host_error`); after that it fails.",
  },
  LEASE_TTL_SECONDS: {
    kind: "var",
    schema: positiveInt(30, 3600),
    doc: "A dispatched job's lease; hosts renew it with heartbeats and events. An unrenewed lease sends the job back to the queue.",
  },
  HOST_HEARTBEAT_TIMEOUT_SECONDS: {
    kind: "var",
    schema: positiveInt(20, 3600),
    doc: "A GPU host silent for this long gets no new work.",
  },
  RUNPOD_API_KEY: {
    kind: "secret",
    schema: z.string().min(1).optional(),
    doc: "RunPod API key for pools autoscaled with provider `runpod` (docs/capacity.md). Unset: no pool may use RunPod.",
    example: "",
  },
  AUTOSCALE_NAME_PREFIX: {
    kind: "var",
    schema: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,30}-$/, "must be 2-31 of a-z, 0-9 and -, starting with a letter and ending with -")
      .default("comfyui-saas-"),
    doc: "Prefix of the names of the instances the autoscaler launches. Reconciliation terminates any instance with this prefix it does not know, so give every deployment sharing a provider account its own.",
  },
  AUTOSCALE_TICK_SECONDS: {
    kind: "var",
    schema: positiveInt(5, 300),
    doc: "How often an autoscaled pool's PoolScaler reads the queue and decides (launch, drain, terminate, reconcile with the provider).",
  },
  LOCAL_PROVIDER_URL: {
    kind: "var",
    devOnly: true,
    schema: z.string().url().optional(),
    doc: "Dev/test only: the local provider daemon (scripts/lib/local-provider.ts) that pools with provider `local` launch hosts from, as processes on this machine.",
  },
  LOCAL_PROVIDER_TOKEN: {
    kind: "secret",
    devOnly: true,
    schema: z.string().min(16).optional(),
    doc: "Dev/test only: the local provider daemon's bearer token.",
    example: "",
  },
  BOOTSTRAP_TOKEN_TTL_SECONDS: {
    kind: "var",
    schema: positiveInt(900, 86_400),
    doc: "How long a GPU host's one-time bootstrap token is valid when the admin API issues one without `ttl_seconds` (autoscaled hosts get their pool's boot timeout). A token works once.",
  },
  MODEL_MAX_BYTES: {
    kind: "var",
    schema: z.coerce
      .number()
      .int()
      .min(1)
      .max(2 ** 42)
      .default(64 * 2 ** 30),
    doc: "Largest model file the registry takes (bytes).",
  },
  GPU_SECONDS_PER_MONTH: {
    kind: "var",
    schema: z.coerce.number().int().min(0).max(10_000_000_000).default(0),
    doc: "Default monthly GPU-second cap per tenant (UTC calendar month; tenants' `limits.gpu_seconds_per_month` overrides it). Past it, submits get 429 spend-cap-reached until the month ends. 0: no cap.",
  },
  RETENTION_DAYS: {
    kind: "var",
    schema: positiveInt(30, 3650),
    doc: "Default days an ended job is kept after it ended: its row, workflow, inputs, outputs, event log and webhook deliveries. The retention sweeper erases older ones from D1 and R2. A tenant's `limits.retention_days` overrides it.",
  },
  STORAGE_BYTES: {
    kind: "var",
    schema: positiveInt(107_374_182_400, 2 ** 50),
    doc: "Default bytes a tenant may hold in outputs, uploads and private model files together (100 GiB). Submits and uploads past it get 429 `storage-quota-exceeded`. A tenant's `limits.storage_bytes` overrides it.",
  },
  RETENTION_BATCH_JOBS: {
    kind: "var",
    schema: positiveInt(100, 1000),
    doc: "Jobs the retention sweeper erases per step (D1 rows and R2 objects together). Small steps keep every D1 write short, so requests are never held up behind the sweep.",
  },
  RETENTION_PAUSE_MS: {
    kind: "var",
    schema: z.coerce.number().int().min(0).max(60_000).default(200),
    doc: "Pause between two steps of a retention pass, leaving D1 to requests in between.",
  },
  MODEL_UPLOAD_PART_BYTES: {
    kind: "var",
    schema: z.coerce
      .number()
      .int()
      .min(5 * 2 ** 20)
      .max(95 * 2 ** 20)
      .default(64 * 2 ** 20),
    doc: "Size of each part of a model upload (the last may be smaller): R2 needs at least 5 MiB, a Worker request body at most 100 MB.",
  },
  TENANT_MODEL_FOLDERS: {
    kind: "var",
    schema: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(,[A-Za-z0-9][A-Za-z0-9._-]{0,63})*$/, "must be a comma-separated list of model folder names")
      .default("loras,embeddings,vae"),
    doc: "ComfyUI model folders a tenant may add private files to (`POST /v1/models`).",
  },
  TENANT_MAX_MODELS: {
    kind: "var",
    schema: positiveInt(100, 100_000),
    doc: "Default number of private model files (`/v1/models`) a tenant may have (403 `model-quota` beyond). A tenant's own `model_files` limit overrides it.",
  },
  TENANT_MODEL_BYTES: {
    kind: "var",
    schema: z.coerce
      .number()
      .int()
      .min(1)
      .max(2 ** 46)
      .default(50 * 2 ** 30),
    doc: "Default bytes of private model files a tenant may have, uploads in progress counted (403 `model-quota` beyond). A tenant's own `model_bytes` limit overrides it.",
  },
  MODEL_SOURCE_HOSTS: {
    kind: "var",
    schema: z
      .string()
      .refine(isHostPatternList, "must be a comma-separated list of host names, each exact or *.example.com for its subdomains")
      .default("huggingface.co,*.huggingface.co,*.hf.co"),
    doc: "Hosts the edge may download a model file from (`POST /v1/admin/models` with `source: {url}`): comma-separated host names, exact or `*.example.com` for subdomains. Every redirect hop must be on the list too (Hugging Face redirects downloads to its CDN hosts), over https, and pass the SSRF checks. Empty: no URL imports.",
  },
  MODEL_AFFINITY_MAX_PASS_OVERS: {
    kind: "var",
    schema: z.coerce.number().int().min(0).max(20).default(3),
    doc: "Model affinity: a free host takes a queued job whose model files it already holds over the fair-next job, which may be passed over this many times before it goes to the next free host that can run it. 0 turns affinity off (hosts are chosen by free slots only).",
  },
  DEFAULT_POOL: {
    kind: "var",
    schema: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a pool name: 1-63 of a-z, 0-9 and -")
      .default("default"),
    doc: "The GPU pool jobs run on unless they are placed elsewhere; hosts registered without a pool join it.",
  },
  EXPECTED_LOCK_HASH: {
    kind: "var",
    schema: z
      .string()
      .regex(/^([0-9a-f]{64})?$/, "must be empty or a 64-character hex SHA-256")
      .default(""),
    doc: "When set, only hosts whose lock-file hash (ComfyUI, custom nodes, requirements, models) equals it receive work.",
  },
  FILE_INPUT_NODES: {
    kind: "var",
    schema: z.string().refine(isFileInputList, "must be a comma-separated list of Class.input pairs").default(DEFAULT_FILE_INPUTS),
    doc: "Loader inputs that name a file on the GPU host (`Class.input`, comma-separated). Such an input must be a URL, a `data:` URI or `upload:<id>`; the edge stores the file and the host places it. Anything else (a file name, a path, a ` [temp]` suffix, another scheme, a link) is refused with 422.",
  },
  DENIED_NODE_CLASSES: {
    kind: "var",
    schema: z.string().refine(isClassList, "must be a comma-separated list of node class names").default(DEFAULT_DENIED_NODE_CLASSES),
    doc: "Node classes refused at submit (422 `node-class-not-allowed`): they write model files, read whole folders, or reach the network. GPU hosts enforce their own list and their lock file's allowed classes as well.",
  },
  MAX_WORKFLOW_BYTES: {
    kind: "var",
    schema: positiveInt(1_048_576, 16 * 1_048_576),
    doc: "Largest serialized `workflow` (after `data:` inputs are taken out and stored); larger ones get 413. Big inputs belong in `POST /v1/uploads`.",
  },
  MAX_REQUEST_BODY_BYTES: {
    kind: "var",
    schema: positiveInt(10_485_760, 100 * 1_048_576),
    doc: "Largest JSON request body accepted (workflows with `data:` URIs); larger bodies get 413. Use `POST /v1/uploads` for big files.",
  },
  IMAGE_INPUT_MAX_BYTES: {
    kind: "var",
    schema: positiveInt(20_971_520, 100 * 1_048_576),
    doc: "Largest image input (URL, `data:` URI or `POST /v1/uploads`), counted after gzip/br decoding. `data:` inputs are also capped by MAX_REQUEST_BODY_BYTES.",
  },
  IMAGE_INPUT_MAX_PIXELS: {
    kind: "var",
    schema: positiveInt(40_000_000, 1_000_000_000),
    doc: "Largest width × height × frames of an image input, read from its headers (refuses pixel bombs before ComfyUI decodes them).",
  },
  IMAGE_FETCH_TIMEOUT_SECONDS: {
    kind: "var",
    schema: positiveInt(10, 60),
    doc: "Total deadline for fetching one image URL: DNS, every redirect hop and the body.",
  },
  IMAGE_FETCH_MAX_REDIRECTS: {
    kind: "var",
    schema: z.coerce.number().int().min(0).max(10).default(3),
    doc: "Redirects followed when fetching an image URL; each hop is checked again like the first.",
  },
  UPLOADS_PER_DAY: {
    kind: "var",
    schema: positiveInt(2_000, 10_000_000),
    doc: "Default number of `POST /v1/uploads` a tenant may store in any 24 hours (429 `uploads-per-day` beyond). A tenant's own limit overrides it.",
  },
  UPLOAD_BYTES_PER_DAY: {
    kind: "var",
    schema: positiveInt(4_294_967_296, 1_099_511_627_776),
    doc: "Default number of bytes a tenant may upload in any 24 hours (429 `upload-bytes-per-day` beyond). A tenant's own limit overrides it.",
  },
  UPLOAD_TTL_SECONDS: {
    kind: "var",
    schema: positiveInt(86_400, 30 * 86_400),
    doc: "How long a file from `POST /v1/uploads` can be referenced as `upload:<id>`.",
  },
  OUTBOUND_PORTS: {
    kind: "var",
    schema: z
      .string()
      .regex(/^\d{1,5}(,\d{1,5})*$/, "must be a comma-separated list of port numbers")
      .default(DEFAULT_PORTS.join(",")),
    doc: "Ports user-supplied URLs (image inputs, webhooks) may use.",
  },
  DNS_OVER_HTTPS_URL: {
    kind: "var",
    schema: z.url({ protocol: /^https$/ }).default(DEFAULT_DOH_ENDPOINT),
    doc: "DNS JSON endpoint used to check that user host names resolve only to public addresses (defense in depth next to `global_fetch_strictly_public`).",
  },
  MAX_OUTPUT_BYTES: {
    kind: "var",
    schema: positiveInt(104_857_600, 500 * 1_048_576),
    doc: "Largest single output file a GPU host may upload.",
  },
  OUTPUTS_BASE_URL: {
    kind: "var",
    schema: z
      .string()
      .default("")
      .refine((v) => v === "" || /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(v), "must be empty or an origin such as https://files.example.com (no path)"),
    doc: "Origin of the signed output URLs in job views and webhook payloads, e.g. `https://files.example.com`: a second hostname routed to this Worker, so an output never shares an origin with the API or a console (README, Deploy). Empty: the API's own origin.",
  },
  OUTPUT_URL_TTL_SECONDS: {
    kind: "var",
    schema: positiveInt(900, 7 * 24 * 3600),
    doc: "Lifetime of the signed output URLs in job representations (re-minted on every read).",
  },
  EVENT_STREAM_KEEPALIVE_SECONDS: {
    kind: "var",
    schema: z.coerce.number().int().min(1).max(120).default(15),
    doc: "A job's event stream (`GET /v1/jobs/{id}/events`) sends a comment line this often, so proxies keep an idle stream open.",
  },
  EVENT_STREAM_MAX_SECONDS: {
    kind: "var",
    schema: positiveInt(900, 24 * 3600),
    doc: "An event stream is ended after this long; the client reconnects with `Last-Event-ID` and loses nothing (EventSource does so by itself).",
  },
  EVENT_STREAMS_PER_JOB: {
    kind: "var",
    schema: positiveInt(1000, 10_000),
    doc: "Most event streams open at once on one job; one more is a 429.",
  },
  JOB_EVENTS_MAX: {
    kind: "var",
    schema: z.coerce.number().int().min(100).max(100_000).default(10_000),
    doc: "Most events kept per job. Past it, the frequent kinds (job.position, job.progress, job.preview) are no longer recorded; lifecycle events and outputs always are.",
  },
  PREFER_WAIT_MAX_SECONDS: {
    kind: "var",
    schema: positiveInt(60, 300),
    doc: "The longest `Prefer: wait=N` (submit, get) holds a request for the job to end; a larger N is cut to this.",
  },
  PREVIEW_MIN_INTERVAL_MS: {
    kind: "var",
    schema: z.coerce.number().int().min(50).max(60_000).default(500),
    doc: "GPU hosts send a running job's sampler preview at most once per this many ms (the newest frame wins), in pools with previews on.",
  },
  PREVIEW_MAX_BYTES: {
    kind: "var",
    schema: z.coerce
      .number()
      .int()
      .min(1024)
      .max(4 * 1024 * 1024)
      .default(256 * 1024),
    doc: "Largest sampler preview frame a host sends or the edge keeps (bytes); larger frames are skipped.",
  },
  MAX_WORKFLOW_NODES: {
    kind: "var",
    schema: positiveInt(500, 10_000),
    doc: "Most nodes a submitted workflow may have.",
  },
  JWT_CLOCK_TOLERANCE_SECONDS: {
    kind: "var",
    schema: z.coerce.number().int().min(0).max(300).default(30),
    doc: "Clock skew allowed when checking `exp`, `nbf` and `iat` of tenant JWTs.",
  },
  OUTBOUND_ALLOW_HOSTS: {
    kind: "var",
    devOnly: true,
    schema: z
      .string()
      .default("")
      .refine((v) => v === "" || v.split(",").every((h) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(h.trim())), "must be a comma-separated list of host:port"),
    doc: "Dev/test only: comma-separated `host:port` pairs (exact match) that outbound fetches may reach even though they are loopback or plain http, so local tests can serve JWKS and images. Must be empty in production.",
  },
  WEBHOOK_TIMEOUT_SECONDS: {
    kind: "var",
    schema: positiveInt(15, 60),
    doc: "A webhook receiver must answer (status line and headers) within this many seconds; slower answers count as failed attempts and are retried.",
  },
  WEBHOOK_RETRY_SCHEDULE: {
    kind: "var",
    schema: z
      .string()
      .default(DEFAULT_RETRY_SCHEDULE)
      .refine((v) => parseSchedule(v) !== null, "must be a comma-separated list of delays such as 5s,5m,2h (each 1 s to 7 days, at most 20)"),
    doc: "Delays before each retry of a failed webhook delivery, after the immediate first attempt (±10 % jitter; a longer `Retry-After` wins). The default is the Standard Webhooks schedule, about three days in all; after the last retry the message is marked failed.",
  },
  HEALTH_CACHE_SECONDS: {
    kind: "var",
    schema: z.coerce.number().int().min(0).max(60).default(5),
    doc: "The public `GET /health` answer is computed at most once per this many seconds per isolate (0: every time); with the admin token it is always fresh.",
  },
  LOG_LEVEL: {
    kind: "var",
    schema: z.enum(["debug", "info", "warn", "error"]).default("info"),
    doc: "Lowest level of structured log lines written.",
  },
  DB: { kind: "binding", schema: binding("D1 database (DB)"), doc: "D1 database: tenants, API keys, jobs." },
  BLOBS: { kind: "binding", schema: binding("R2 bucket (BLOBS)"), doc: "R2 bucket: job inputs and outputs." },
  DISPATCHER: {
    kind: "binding",
    schema: binding("Durable Object namespace (DISPATCHER)"),
    doc: "Durable Object namespace of `Dispatcher`: one object per GPU pool holding its queue, hosts and leases.",
  },
  TENANT_QUOTA: {
    kind: "binding",
    schema: binding("Durable Object namespace (TENANT_QUOTA)"),
    doc: "Durable Object namespace of `TenantQuota`: one object per tenant that admits jobs.",
  },
  WEBHOOK_DELIVERY: {
    kind: "binding",
    schema: binding("Durable Object namespace (WEBHOOK_DELIVERY)"),
    doc: "Durable Object namespace of `WebhookDelivery`: one object per job with a webhook, whose alarm sends that job's webhook messages and retries them.",
  },
  WEBHOOK_SWEEPER: {
    kind: "binding",
    schema: binding("Durable Object namespace (WEBHOOK_SWEEPER)"),
    doc: "Durable Object namespace of `WebhookSweeper`: a single object that, every minute, reschedules webhook messages whose delivery was never scheduled (a crash between the job's change and the hand-off).",
  },
  ASSETS: {
    kind: "binding",
    schema: binding("static assets (ASSETS)"),
    doc: "The Worker's static assets (public/): the API reference's browser bundle at its pinned version (scripts/vendor-assets.ts), served by `/docs`.",
  },
  JOB_FEED: {
    kind: "binding",
    schema: binding("Durable Object namespace (JOB_FEED)"),
    doc: "Durable Object namespace of `JobFeed`: one object per job that records its events in order and serves every open event stream, `Prefer: wait` and the latest preview of that job.",
  },
  POOL_SCALER: {
    kind: "binding",
    schema: binding("Durable Object namespace (POOL_SCALER)"),
    doc: "Durable Object namespace of `PoolScaler`: one object per autoscaled pool that launches, drains and terminates its hosts (docs/capacity.md).",
  },
  RETENTION_SWEEPER: {
    kind: "binding",
    schema: binding("Durable Object namespace (RETENTION_SWEEPER)"),
    doc: "Durable Object namespace of `RetentionSweeper`: one object that erases what is past its retention, expired uploads and deleted tenants, in bounded steps (docs/data-lifecycle.md).",
  },
  MODEL_VERIFIER: {
    kind: "binding",
    schema: binding("Durable Object namespace (MODEL_VERIFIER)"),
    doc: "Durable Object namespace of `ModelVerifier`: one object per model file in the making, whose alarm hashes an uploaded file against its declared SHA-256, or downloads a file registered by URL into R2 (counted and hashed as it streams), before hosts may fetch it.",
  },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;

export const configSchema = z.object(
  Object.fromEntries(Object.entries(settings).map(([name, s]) => [name, s.schema])) as {
    [K in SettingName]: (typeof settings)[K]["schema"];
  },
);

export type Config = z.infer<typeof configSchema>;
