/**
 * The API GPU hosts call (src/protocol): heartbeats, job events, input and model downloads and output
 * uploads (stored under the type their bytes are, never the one the host declares). Internal: not
 * in the public OpenAPI document. Every call is signed by the host and fenced by the Dispatcher: a
 * host that no longer holds a job's current (attempt, lease) gets 409 and must drop the job.
 */
import { Hono } from "hono";
import { catalogKey, jobOutputKey, modelBlobKey, SHARED_MODELS } from "../blobs/keys.ts";
import { redeemBootstrapToken } from "../db/bootstrap-tokens.ts";
import { createDb } from "../db/client.ts";
import { getHost } from "../db/hosts.ts";
import { needsOf } from "../db/jobs.ts";
import { readyModelsNamed } from "../db/models.ts";
import { inputOf, upsertOutput } from "../db/outputs.ts";
import { dispatcherOfHost } from "../dispatch/route.ts";
import { feedOutput, publishEvent } from "../feed/publish.ts";
import {
  authenticateHost,
  authenticateHostClaimedByRoute,
  authenticateHostRequest,
  authenticateHostWithin,
  type HostApiEnv,
  replayed,
} from "../hosts/authenticate-host.ts";
import { edgeJwks, pinsCurrentSet, signingKey } from "../hosts/edge-keys.ts";
import { currentSecret } from "../hosts/host-secrets.ts";
import { ProblemError } from "../http/problem.ts";
import { describeError } from "../lib/log.ts";
import { OUTPUT_SNIFF_BYTES, sniffOutput } from "../media/output-type.ts";
import { CONTENT_TYPES, imageFormatOf } from "../media/sniff.ts";
import { pinnedRefs } from "../models/pinned.ts";
import { type Peeked, peekHead } from "../outputs/peek-head.ts";
import { type BootstrapReply, BootstrapRequest } from "../protocol/bootstrap.ts";
import { type CatalogReply, catalogDocument, catalogSummary, HostCatalog, MAX_CATALOG_CHARS, MAX_CATALOG_SUMMARY_CHARS } from "../protocol/catalog.ts";
import { sha256, toHex } from "../protocol/encoding.ts";
import { signJwksUpdate } from "../protocol/jwks-update.ts";
import { type DispatchRef, type EventReply, Heartbeat, type HeartbeatReply, JobEvent, type OutputStored, PREVIEW_CONTENT_TYPES } from "../protocol/messages.ts";
import { edgePaths } from "../protocol/paths.ts";

function parseSigned<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string; path: PropertyKey[] }[] } } },
  text: string,
): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProblemError("malformed-json", "The request body is not valid JSON.");
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ProblemError("validation-failed", `Invalid host message at /${issue?.path.join("/") ?? ""}: ${issue?.message ?? "invalid"}.`);
  }
  return result.data;
}

/** Two references to the same job attempt and lease. */
const sameAttempt = (a: DispatchRef, b: DispatchRef) => a.job_id === b.job_id && a.attempt === b.attempt && a.lease_id === b.lease_id;

const stale = (ref: DispatchRef) =>
  new ProblemError("stale-lease", `Job ${ref.job_id} attempt ${ref.attempt} is no longer assigned to this host under this lease; drop it.`);

export const hostApiRoutes = new Hono<HostApiEnv>()
  .get(edgePaths.jwks, (c) => {
    // The signing key and, during a rollover, the next or previous one (src/hosts/edge-keys.ts).
    c.header("Cache-Control", "public, max-age=300");
    return c.json(edgeJwks(c.var.config));
  })
  // A launched host's first call: its one-time token (the only credential it was given) for its
  // secret. Unknown, expired and used tokens get the same answer, so nothing can be probed.
  .post(edgePaths.bootstrap, async (c) => {
    const { token } = parseSigned(BootstrapRequest, await c.req.text());
    const db = createDb(c.env.DB);
    const hostId = await redeemBootstrapToken(db, token, Date.now());
    const host = hostId === null ? undefined : await getHost(db, hostId);
    if (!host) {
      throw new ProblemError(
        "unauthenticated",
        "This bootstrap token is unknown, expired or used already; the host needs a new one (POST /v1/admin/hosts/{id}/bootstrap-tokens).",
      );
    }
    const reply: BootstrapReply = {
      host_id: host.id,
      pool: host.pool,
      secret: await currentSecret(host, c.var.config),
      edge_jwks: edgeJwks(c.var.config),
    };
    c.var.log.info("host_bootstrapped", { host_id: host.id, pool: host.pool });
    c.header("Cache-Control", "no-store");
    return c.json(reply, 200);
  })
  .post("/v1/hosts/:host_id/heartbeat", authenticateHostClaimedByRoute, async (c) => {
    const host = c.var.host;
    const hb = parseSigned(Heartbeat, c.var.signedText);
    if (hb.host_id !== host.id) throw new ProblemError("validation-failed", "host_id in the body does not match the path.");
    // The replay claim rides on the heartbeat call itself: one Dispatcher request, not two.
    const reply = await dispatcherOfHost(c.env, host).heartbeat(
      { id: host.id, url: host.url, slots: host.slots, draining: host.drainingAt !== null },
      hb,
      c.var.claim,
    );
    if (reply === "replayed") throw replayed(c.var.log, host.id);
    const pinned = await pinnedRefs(createDb(c.env.DB), host.pool);
    const out: HeartbeatReply = pinned.length > 0 ? { ...reply, pinned_models: pinned } : reply;
    // A host that pins other edge keys than the ones published now gets the current set, signed
    // by the current key, which it pins already at every step of a rollover (docs/RUNBOOK.md).
    const jwks = edgeJwks(c.var.config);
    if (hb.edge_kids !== undefined && !pinsCurrentSet(jwks, hb.edge_kids)) {
      out.edge_jwks = await signJwksUpdate(signingKey(c.var.config), host.id, jwks);
    }
    return c.json(out, 200);
  })
  // The catalog (object_info + models, MBs): its own size cap; stored once per hash in R2, its
  // summary (names only) kept by the pool's Dispatcher.
  .post("/v1/hosts/:host_id/catalog", authenticateHostWithin(MAX_CATALOG_CHARS), async (c) => {
    const host = c.var.host;
    const cat = parseSigned(HostCatalog, c.var.signedText);
    if (cat.host_id !== host.id) throw new ProblemError("validation-failed", "host_id in the body does not match the path.");
    const doc = catalogDocument(cat);
    const hash = toHex(await sha256(doc));
    if (hash !== cat.hash) {
      throw new ProblemError(
        "validation-failed",
        `The catalog's hash ${cat.hash} is not the SHA-256 of its canonical JSON of {object_info, models} (${hash}); recompute it with catalogHash() from src/protocol/catalog.ts.`,
      );
    }
    const summary = catalogSummary(cat);
    if (JSON.stringify(summary).length > MAX_CATALOG_SUMMARY_CHARS)
      throw new ProblemError("payload-too-large", `The catalog's class and model names exceed ${MAX_CATALOG_SUMMARY_CHARS} characters together.`);
    const dispatcher = dispatcherOfHost(c.env, host);
    const key = catalogKey(hash);
    // Content-addressed: identical hosts share one object; write it only if it is not there yet.
    let stored = false;
    if (!(await dispatcher.hasCatalog(hash)) && !(await c.env.BLOBS.head(key))) {
      await c.env.BLOBS.put(key, doc, { httpMetadata: { contentType: "application/json" }, sha256: hash });
      stored = true;
    }
    await dispatcher.setCatalog({ id: host.id, url: host.url, slots: host.slots, draining: host.drainingAt !== null }, hash, summary);
    c.var.log.info("host_catalog", { host_id: host.id, hash, stored, classes: summary.classes.length });
    return c.json({ hash, stored } satisfies CatalogReply, 200);
  })
  .post("/v1/hosts/:host_id/events", authenticateHostClaimedByRoute, async (c) => {
    const host = c.var.host;
    const ev = parseSigned(JobEvent, c.var.signedText);
    if (ev.host_id !== host.id) throw new ProblemError("validation-failed", "host_id in the body does not match the path.");
    const outcome = await dispatcherOfHost(c.env, host).jobEvent(host.id, ev, c.var.claim);
    switch (outcome) {
      case "replayed":
        throw replayed(c.var.log, host.id);
      case "stale":
        c.var.log.warn("stale_host_event", { host_id: host.id, job_id: ev.job_id, attempt: ev.attempt, type: ev.type });
        throw stale(ev);
      case "missing_outputs":
        throw new ProblemError("validation-failed", "job.succeeded lists outputs that were not uploaded (or differ); upload every output first.");
      case "applied":
      case "duplicate":
        return c.json({ applied: outcome === "applied" } satisfies EventReply, 200);
    }
  })
  .get("/v1/hosts/:host_id/jobs/:job_id/inputs/:input_id", authenticateHost, async (c) => {
    const host = c.var.host;
    const m = c.var.manifest!;
    if (m.job_id !== c.req.param("job_id")) throw stale(m);
    const check = await dispatcherOfHost(c.env, host).checkTransfer(host.id, m);
    if (!check.ok) throw stale(m);
    const input = await inputOf(createDb(c.env.DB), m.job_id, c.req.param("input_id"));
    if (!input) throw new ProblemError("not-found", "No such input for this job.");
    const object = await c.env.BLOBS.get(input.r2Key);
    if (!object) throw new ProblemError("not-found", "The input's bytes are gone (retention expired).");
    return new Response(object.body, {
      headers: { "Content-Type": input.contentType, "Content-Length": String(object.size), "X-Content-SHA256": input.sha256 },
    });
  })
  .get("/v1/hosts/:host_id/jobs/:job_id/models/:sha256", authenticateHost, async (c) => {
    // Only a model file the host's current dispatch of this job names, and only once it is verified.
    const host = c.var.host;
    const m = c.var.manifest!;
    if (m.job_id !== c.req.param("job_id")) throw stale(m);
    const check = await dispatcherOfHost(c.env, host).checkTransfer(host.id, m);
    if (!check.ok) throw stale(m);
    const db = createDb(c.env.DB);
    const sha256 = c.req.param("sha256");
    const needs = await needsOf(db, m.job_id);
    // The job's tenant's own file, or one of the operators' registry.
    const own = needs?.privateModels?.some((r) => r.sha256 === sha256) ?? false;
    const shared = !own && (await readyModelsNamed(db, SHARED_MODELS, needs?.models ?? [])).some((r) => r.sha256 === sha256);
    if (!own && !shared) throw new ProblemError("not-found", "This job names no registered model file with that SHA-256.");
    const object = await c.env.BLOBS.get(modelBlobKey(own ? check.tenantId : SHARED_MODELS, sha256));
    if (!object) throw new ProblemError("not-found", "The model file's bytes are gone (it was deleted).");
    c.var.log.info("model_served", { host_id: host.id, job_id: m.job_id, sha256, size: object.size });
    return modelResponse(object, sha256);
  })
  .get("/v1/hosts/:host_id/models/:sha256", authenticateHostRequest, async (c) => {
    // A file the host's pool pins: fetched ahead of any job, so bound to the pool, not a lease.
    const host = c.var.host;
    const sha256 = c.req.param("sha256");
    const pinned = await pinnedRefs(createDb(c.env.DB), host.pool);
    if (!pinned.some((r) => r.sha256 === sha256)) throw new ProblemError("not-found", "This host's pool pins no ready model file with that SHA-256.");
    const object = await c.env.BLOBS.get(modelBlobKey(SHARED_MODELS, sha256));
    if (!object) throw new ProblemError("not-found", "The model file's bytes are gone (it was deleted).");
    c.var.log.info("pinned_model_served", { host_id: host.id, sha256, size: object.size });
    return modelResponse(object, sha256);
  })
  .put("/v1/hosts/:host_id/jobs/:job_id/outputs/:name", authenticateHostClaimedByRoute, async (c) => {
    const host = c.var.host;
    const m = c.var.manifest!;
    const name = c.req.param("name");
    if (m.job_id !== c.req.param("job_id") || m.size === undefined || !m.sha256 || !m.content_type) {
      throw new ProblemError("validation-failed", "An output upload's manifest must carry job_id, content_type, size and sha256.");
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name)) throw new ProblemError("validation-failed", "Invalid output name.");
    const max = c.var.config.MAX_OUTPUT_BYTES;
    if (m.size > max) throw new ProblemError("payload-too-large", `Outputs are limited to ${max} bytes.`);
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && Number(declared) !== m.size) throw new ProblemError("validation-failed", "Content-Length differs from the signed size.");
    const terminal = m.terminal;
    if (terminal && (terminal.type !== "job.succeeded" || !sameAttempt(terminal, m) || terminal.host_id !== host.id)) {
      throw new ProblemError("validation-failed", "An upload may carry only its own attempt's job.succeeded (manifest.terminal).");
    }
    const check = await dispatcherOfHost(c.env, host).checkTransfer(host.id, m, c.var.claim);
    if (!check.ok) throw check.replayed ? replayed(c.var.log, host.id) : stale(m);
    const key = jobOutputKey(check.tenantId, m.job_id, m.attempt, name);
    const raw = c.req.raw.body;
    if (!raw) throw new ProblemError("validation-failed", "The upload has no body.");
    let peeked: Peeked;
    try {
      peeked = await peekHead(raw, OUTPUT_SNIFF_BYTES);
    } catch {
      throw new ProblemError("validation-failed", "The upload's body could not be read.");
    }
    // The type is what the bytes are (src/media/output-type.ts), never what the host declares:
    // the D1 row, R2's metadata, job views and webhooks all carry the sniffed type.
    const type = sniffOutput(peeked.head, { declaredType: m.content_type, complete: peeked.ended || peeked.head.length >= m.size });
    if (!type.allowed) {
      c.var.log.info("output_not_allowlisted", { host_id: host.id, job_id: m.job_id, name, declared_type: m.content_type, looks_like: type.what });
    }
    let stored: R2Object | null;
    try {
      // R2 needs a stream's length up front; FixedLengthStream also errors (so nothing is stored)
      // when the body is longer or shorter than the signed size. R2 checks the signed SHA-256.
      const body = peeked.body.pipeThrough(new FixedLengthStream(m.size));
      stored = await c.env.BLOBS.put(key, body, { httpMetadata: { contentType: type.contentType }, sha256: m.sha256 });
    } catch (err) {
      c.var.log.warn("output_rejected", { host_id: host.id, job_id: m.job_id, name, ...describeError(err) });
      throw new ProblemError("validation-failed", "The uploaded bytes do not match the signed size and SHA-256.");
    }
    if (!stored || stored.size !== m.size) {
      await c.env.BLOBS.delete(key);
      throw new ProblemError("validation-failed", "The uploaded bytes do not match the signed size.");
    }
    const db = createDb(c.env.DB);
    const row = {
      jobId: m.job_id,
      attempt: m.attempt,
      name,
      contentType: type.contentType,
      size: m.size,
      sha256: m.sha256,
      r2Key: key,
      nodeId: m.node_id ?? "",
      kind: m.kind ?? "files",
      createdAt: Date.now(),
    };
    await upsertOutput(db, row);
    // Watchers see each output as it is stored (the terminal event lists them all again).
    await publishEvent(
      c.env,
      m.job_id,
      { type: "job.output", attempt: m.attempt, at: row.createdAt, ...feedOutput(row) },
      { createdAt: check.createdAt, pool: host.pool },
      c.var.log,
    );
    if (!terminal) return c.json({ stored: true, name, size: m.size } satisfies OutputStored, 201);
    // The job's last output carried its end: applied now that the output is stored (the message
    // was claimed with the transfer; the event's seq keeps it from applying twice).
    const outcome = await dispatcherOfHost(c.env, host).jobEvent(host.id, terminal);
    switch (outcome) {
      case "stale":
      case "replayed":
        throw stale(terminal);
      case "missing_outputs":
        throw new ProblemError("validation-failed", "job.succeeded lists outputs that were not uploaded (or differ); upload every output first.");
      case "applied":
      case "duplicate":
        return c.json({ stored: true, name, size: m.size, terminal: { applied: outcome === "applied" } } satisfies OutputStored, 201);
    }
  })
  // The latest sampler preview of a running job (issue 15): small, frequent, never stored in R2;
  // the job's feed keeps the newest frame and tells its watchers.
  .put("/v1/hosts/:host_id/jobs/:job_id/preview", authenticateHostClaimedByRoute, async (c) => {
    const host = c.var.host;
    const m = c.var.manifest!;
    if (m.job_id !== c.req.param("job_id") || m.size === undefined || !m.sha256 || !m.content_type) {
      throw new ProblemError("validation-failed", "A preview upload's manifest must carry job_id, content_type, size and sha256.");
    }
    if (!(PREVIEW_CONTENT_TYPES as readonly string[]).includes(m.content_type)) {
      throw new ProblemError("validation-failed", `A preview is ${PREVIEW_CONTENT_TYPES.join(" or ")}.`);
    }
    const max = c.var.config.PREVIEW_MAX_BYTES;
    if (m.size > max) throw new ProblemError("payload-too-large", `Previews are limited to ${max} bytes.`);
    const check = await dispatcherOfHost(c.env, host).checkTransfer(host.id, m, c.var.claim);
    if (!check.ok) throw check.replayed ? replayed(c.var.log, host.id) : stale(m);
    if (!check.previews) throw new ProblemError("previews-off", "This job's pool does not forward previews; send none for it.");
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length !== m.size || toHex(await sha256(bytes)) !== m.sha256) {
      throw new ProblemError("validation-failed", "The preview's bytes do not match the signed size and SHA-256.");
    }
    // Watchers' browsers show it: it must be the image it claims to be, by its magic bytes.
    const format = imageFormatOf(bytes);
    const type = format ? CONTENT_TYPES[format] : undefined;
    if (!type || type !== m.content_type) throw new ProblemError("validation-failed", `The preview's bytes are not ${m.content_type}.`);
    const accepted = await c.env.JOB_FEED.getByName(m.job_id).setPreview(
      { attempt: m.attempt, contentType: type, bytes, at: Date.now(), node: m.node_id ?? null },
      { createdAt: check.createdAt, pool: host.pool },
    );
    if (!accepted) throw stale(m);
    return c.body(null, 204);
  });

/** A model file's bytes as hosts download them: streamed, with the size and SHA-256 they check. */
function modelResponse(object: R2ObjectBody, sha256: string): Response {
  return new Response(object.body, {
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(object.size), "X-Content-SHA256": sha256 },
  });
}
