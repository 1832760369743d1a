/**
 * Submitting a job: validate the workflow, admit it through the tenant's TenantQuota (which also
 * handles Idempotency-Key), then write the row. Admission happens before the row exists; if the
 * write fails the reservation is released at once, so a failed submit never holds a slot.
 */
import { parseIdempotencyKey, requestFingerprint } from "../admission/idempotency-key.ts";
import { admitJob, releaseJobSlot } from "../admission/quota.ts";
import { rateLimitHeaders } from "../admission/rate-limit-headers.ts";
import { refuseOverSpend } from "../admission/spend-cap.ts";
import { refuseOverStorage } from "../admission/storage-quota.ts";
import type { AdmitResult } from "../admission/types.ts";
import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import { deleteJob, getOwnedJob } from "../db/jobs.ts";
import { dispatcherOf, dispatcherOfJob } from "../dispatch/route.ts";
import { tenantShard } from "../dispatch/shards.ts";
import type { QueueInfo } from "../dispatch/types.ts";
import { ProblemError } from "../http/problem.ts";
import { checkFileInputs, type FoundInput } from "../inputs/find.ts";
import { type ResolvedInputs, resolveInputs } from "../inputs/resolve.ts";
import { newId } from "../lib/ids.ts";
import { describeError } from "../lib/log.ts";
import { Spans } from "../lib/spans.ts";
import { resolveTenantModels } from "../models/tenant-refs.ts";
import { allPoolShards, type PoolShards, resolveSubmitPool } from "../pools/pools.ts";
import { deniedNodes, parseClassList, parseFileInputs } from "../protocol/node-policy.ts";
import type { WebhookEvent } from "../webhooks/events.ts";
import { vetWebhookUrl } from "../webhooks/url.ts";
import { workflowNeeds } from "../workflows/needs.ts";
import { poolPreflightOptions, refuseUnrunnable } from "../workflows/pool-check.ts";
import { createQueued } from "./lifecycle.ts";
import { type PresentContext, presentJob } from "./present.ts";
import type { JobView } from "./view.ts";
import { jobView } from "./view.ts";
import { checkWorkflow, pointerToken } from "./workflow.ts";

export interface SubmitContext extends PresentContext {
  principal: Principal;
}

export interface SubmitOutcome {
  job: JobView;
  replayed: boolean;
  headers: Record<string, string>;
}

type Rejection = Exclude<AdmitResult, { ok: true }>;

/** What a client submits (`POST /v1/jobs`); `src/routes/jobs.schemas.ts` validates and documents it. */
export interface SubmitJobInput {
  workflow: Record<string, unknown>;
  webhook?: { url: string; events?: WebhookEvent[] | undefined } | undefined;
  metadata?: Record<string, unknown> | undefined;
  pool?: string | undefined;
}

export async function submitJob(ctx: SubmitContext, body: SubmitJobInput, idempotencyHeader: string | undefined): Promise<SubmitOutcome> {
  const { env, config, principal, log } = ctx;
  const spans = new Spans();
  const check = checkWorkflow(body.workflow, config.MAX_WORKFLOW_NODES);
  if (!check.ok) throw new ProblemError("invalid-workflow", check.detail, { extensions: { errors: check.errors } });
  // Every read the checks below need, at once (they are independent; one after the other they
  // were most of a submit's time). Their refusals are still raised in the order of the checks,
  // so which problem a request gets never depends on which read answered first.
  const db = createDb(env.DB);
  // The default pool always exists (a deployment setting), so its hosts' catalogs can be read with
  // the other checks; another pool's only once D1 said it exists (asking its Dispatcher would make one).
  // Read ahead from shard 0 only, as the shard count is not known yet: used when the pool has one.
  const poolName = body.pool ?? principal.pools.defaultPool ?? config.DEFAULT_POOL;
  const catalogsAhead =
    poolName === config.DEFAULT_POOL && (principal.pools.allowedPools?.includes(poolName) ?? true)
      ? settled(dispatcherOf(env, poolName, 0).liveCatalogs())
      : Promise.resolve(undefined);
  const [modelsRead, webhookRead, poolRead, spendRead, storageRead, catalogsRead] = await spans.time(
    "checks",
    Promise.all([
      settled(resolveTenantModels(env, principal.tenantId, body.workflow)),
      // Before admission, so a refused webhook URL never takes a slot. Delivery checks it again.
      settled(body.webhook ? checkedWebhookUrl(ctx, body.webhook.url) : Promise.resolve(null)),
      // Also before admission: a job for a pool it may not run in takes no slot.
      settled(resolveSubmitPool(db, config, principal.pools, body.pool)),
      // A tenant past its monthly GPU time takes no slot either.
      settled(refuseOverSpend(db, principal.tenantId, principal.limits.gpu_seconds_per_month, Date.now())),
      // Nor one whose stored files fill its quota: its outputs would have nowhere to go.
      settled(refuseOverStorage(db, principal.tenantId, principal.limits.storage_bytes, 0)),
      catalogsAhead,
    ]),
  );
  // The tenant's own model files (`tenant:<name>`) become the names hosts give them; from here
  // on, `workflow` is what the host will run.
  const privateModels = unwrap(modelsRead);
  const workflow = privateModels.workflow;
  const fileInputs = checkWorkflowPolicy(workflow, config);
  const key = parseIdempotencyKey(idempotencyHeader);
  const webhookUrl = unwrap(webhookRead);
  const pool = unwrap(poolRead);
  // And a workflow no live host of the pool could run never costs a slot or a GPU second.
  const poolCheck = await spans.time(
    "pool_check",
    refuseUnrunnable(
      env,
      pool,
      workflow,
      () => allowedPoolNames(env, config, principal.pools.allowedPools),
      { ...poolPreflightOptions(pool), knownModels: new Set(privateModels.refs.map((r) => r.name)) },
      // A read that failed is made again in the check, where its error belongs.
      catalogsRead?.ok && pool.name === poolName && pool.dispatcher_shards === 1 ? catalogsRead.value : undefined,
    ),
  );
  unwrap(spendRead);
  unwrap(storageRead);
  // What a host must have to run it: the Dispatcher places the job only where it can run.
  const needs = workflowNeeds(workflow, poolCheck.models, pool.model_files, privateModels.refs);

  const jobId = newId("job");
  const admitted = await spans.time(
    "admission",
    admitJob(
      env,
      principal.tenantId,
      {
        jobId,
        userId: principal.userId,
        limits: principal.limits,
        ...(key ? { idempotency: { key, fingerprint: await requestFingerprint(principal.userId, body) } } : {}),
      },
      log,
    ),
  );
  const headers = rateLimitHeaders(admitted.usage);
  if (!admitted.ok) return rejected(ctx, admitted, headers);

  // Image inputs are fetched after admission (a refused submit fetches nothing) and before the
  // row exists; a refused input gives back the slot.
  let inputs: ResolvedInputs;
  try {
    inputs = await spans.time("inputs", resolveInputs(env, config, principal, jobId, workflow, fileInputs));
  } catch (err) {
    await releaseJobSlot(env, principal.tenantId, jobId, log, { abandoned: true });
    throw err;
  }

  const now = Date.now();
  const job = {
    id: jobId,
    tenantId: principal.tenantId,
    userId: principal.userId,
    status: "queued" as const,
    createdAt: now,
    updatedAt: now,
    queueDeadlineAt: now + (pool.queue_timeout_seconds ?? config.QUEUED_TIMEOUT_SECONDS) * 1000,
    attempt: 0,
    nodeCount: check.nodeCount,
    metadata: body.metadata ?? null,
    webhookUrl,
    webhookEvents: body.webhook?.events ?? null,
    webhookBaseUrl: webhookUrl ? ctx.baseUrl : null,
    pool: pool.name,
    // A tenant's whole line is in one shard: FIFO within the tenant stays exact (docs/scale.md).
    dispatcherShard: tenantShard(principal.tenantId, pool.dispatcher_shards),
  };
  try {
    await spans.time("insert", createQueued(db, job, inputs.workflow, inputs.rows, needs));
  } catch (err) {
    log.error("job_insert_failed", { job_id: jobId, ...describeError(err) });
    await releaseJobSlot(env, principal.tenantId, jobId, log, { abandoned: true });
    throw new ProblemError("unavailable", "The job could not be stored; nothing was created. Try again.", { headers: { "Retry-After": "2" } });
  }
  let queued: QueueInfo | null;
  try {
    queued = await spans.time(
      "enqueue",
      dispatcherOfJob(env, job).enqueue({
        jobId,
        tenantId: job.tenantId,
        userId: job.userId,
        enqueuedAt: now,
        queueDeadlineAt: job.queueDeadlineAt,
        needs,
      }),
    );
  } catch (err) {
    // Not queued means not accepted: take the job back so nothing half-made remains.
    log.error("job_enqueue_failed", { job_id: jobId, ...describeError(err) });
    await deleteJob(createDb(env.DB), jobId);
    await releaseJobSlot(env, principal.tenantId, jobId, log, { abandoned: true });
    throw new ProblemError("unavailable", "The job could not be queued; nothing was created. Try again.", { headers: { "Retry-After": "2" } });
  }
  const timing = spans.fields();
  log.info("job_submitted", { job_id: jobId, tenant_id: job.tenantId, pool: job.pool, nodes: job.nodeCount, spans: timing });
  const row = {
    ...job,
    startedAt: null,
    finishedAt: null,
    cancelRequestedAt: null,
    progress: null,
    timings: null,
    error: null,
    hostId: null,
    webhookGoneAt: null,
    attemptStartedAt: null,
    gpuMs: 0,
  };
  // null: a free host took it at once (its row says queued until the dispatch is written): next, now.
  const extras = {
    outputs: [],
    queuePosition: queued ? queued.position : 0,
    waitingFor: queued?.waitingFor,
    estimatedStartSeconds: queued ? queued.estimatedStartSeconds : 0,
    estimatedFinishSeconds: queued?.estimatedFinishSeconds,
  };
  return { job: jobView(row, extras), replayed: false, headers: { ...headers, "Server-Timing": spans.header() } };
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects, so several can be awaited together and their refusals raised in order. */
function settled<T>(work: Promise<T>): Promise<Settled<T>> {
  return work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function unwrap<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}

/**
 * What may run at all (src/protocol/node-policy.ts): no denied class, every file input a URL,
 * `data:` URI or upload, and a workflow no larger than MAX_WORKFLOW_BYTES once its `data:` inputs
 * are set aside (they are stored separately). Checked before admission: a refused workflow takes
 * no slot and touches nothing.
 */
function checkWorkflowPolicy(workflow: Record<string, unknown>, config: Config): FoundInput[] {
  const denied = deniedNodes(workflow, { denied: parseClassList(config.DENIED_NODE_CLASSES) });
  if (denied.length > 0) {
    const errors = denied
      .slice(0, 50)
      .map((d) => ({ pointer: `/workflow/${pointerToken(d.nodeId)}/class_type`, detail: `${d.classType} is not allowed on this service` }));
    throw new ProblemError(
      "node-class-not-allowed",
      `Node ${denied[0]!.nodeId} is a ${denied[0]!.classType}, which this service never runs (it writes model files, reads whole folders or reaches the network); remove it.`,
      {
        extensions: { errors },
      },
    );
  }
  const files = checkFileInputs(workflow, parseFileInputs(config.FILE_INPUT_NODES));
  if (!files.ok) {
    const first = files.errors[0]!;
    throw new ProblemError("invalid-input", `${first.pointer} ${first.detail}.`, { extensions: { errors: files.errors } });
  }
  const inlined = files.found.reduce((n, f) => n + (f.source.kind === "data" ? f.source.uri.length : 0), 0);
  const size = new TextEncoder().encode(JSON.stringify(workflow)).length - inlined;
  if (size > config.MAX_WORKFLOW_BYTES) {
    throw new ProblemError("workflow-too-large", `The workflow is ${size} bytes; the limit is ${config.MAX_WORKFLOW_BYTES}.`, {
      extensions: { max_bytes: config.MAX_WORKFLOW_BYTES },
    });
  }
  return files.found;
}

/** The webhook URL as the SSRF guard parsed it, or a 422 saying why it is refused. */
async function checkedWebhookUrl(ctx: SubmitContext, raw: string): Promise<string> {
  const check = await vetWebhookUrl(raw, ctx.config);
  switch (check.ok) {
    case true:
      return check.url;
    case "unverified":
      // Our resolver could not answer: not the caller's fault, and nothing is fetched now.
      ctx.log.warn("webhook_url_unverified", { tenant_id: ctx.principal.tenantId });
      return check.url;
    case false:
      throw new ProblemError("unsafe-webhook-url", check.detail, {
        extensions: { reason: check.reason, errors: [{ pointer: "/webhook/url", detail: check.detail }] },
      });
  }
}

async function rejected(ctx: SubmitContext, result: Rejection, headers: Record<string, string>): Promise<SubmitOutcome> {
  switch (result.reason) {
    case "active-jobs-per-user":
    case "active-jobs-per-tenant":
    case "requests-per-minute": {
      const what = {
        "active-jobs-per-user": `This user already has ${result.current} active jobs (limit ${result.limit}); wait for one to finish or cancel one.`,
        "active-jobs-per-tenant": `This tenant already has ${result.current} active jobs (limit ${result.limit}).`,
        "requests-per-minute": `This tenant made ${result.current} submissions in the last 60 seconds (limit ${result.limit}).`,
      }[result.reason];
      ctx.log.info("job_rejected", { tenant_id: ctx.principal.tenantId, reason: result.reason, limit: result.limit, current: result.current });
      throw new ProblemError(result.reason, `${what} Retry after ${result.retryAfter} s.`, {
        extensions: { limit: result.limit, current: result.current, "violated-policies": [result.reason] },
        headers: { ...headers, "Retry-After": String(result.retryAfter) },
      });
    }
    case "idempotency-mismatch":
      throw new ProblemError("idempotency-key-reused", "This Idempotency-Key was already used by this user with a different request body; use a new key.", {
        headers,
      });
    case "idempotent-replay": {
      // The key is known. If its job row exists, answer with the job; if not, the first request is
      // still between admission and its write (or failed and will be forgotten within a lease).
      const row = await getOwnedJob(createDb(ctx.env.DB), ctx.principal, result.jobId);
      if (!row) {
        throw new ProblemError("idempotency-key-in-flight", "A request with this Idempotency-Key is still being processed; retry it in a moment.", {
          headers: { ...headers, "Retry-After": "1" },
        });
      }
      return { job: await presentJob(ctx, row), replayed: true, headers };
    }
    default: {
      const never: never = result;
      throw new Error(`unhandled admission result ${JSON.stringify(never)}`);
    }
  }
}

/** The pools a tenant may use: where a model it asked for could be found instead. */
async function allowedPoolNames(env: Env, config: Config, allowed: string[] | null): Promise<PoolShards[]> {
  const all = await allPoolShards(createDb(env.DB), config.DEFAULT_POOL);
  return allowed === null ? all : all.filter((p) => allowed.includes(p.name));
}
