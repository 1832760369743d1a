/**
 * The wire contract between the edge and a GPU host (gpu-backend): every message body, as zod
 * schemas both sides validate with. This folder is the only part of `src/` gpu-backend imports, so
 * it depends on nothing but zod and jose and runs in workerd and Node alike.
 *
 * Direction and signing:
 * - edge → host (dispatch, cancel): EdDSA JWT bound to method, path, body hash and host id
 *   (edge-signing.ts);
 * - host → edge (heartbeat, job events, input download, output upload): Standard Webhooks
 *   signature with the host's secret over a JSON payload that names the host, job, attempt and
 *   lease (host-signing.ts). Any callback whose (attempt, lease) is not the job's current one is
 *   refused by the edge (fencing).
 */
import { z } from "zod";

export const HOST_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const hostId = z.string().regex(HOST_ID, "host ids are 1-63 of a-z, 0-9 and -, starting with a letter or digit");
const jobId = z.string().min(1).max(64);
const leaseId = z.string().min(8).max(64);
const attempt = z.number().int().min(1).max(1000);

/** Identifies one dispatch of a job: a host may act on a job only while this is current. */
export const DispatchRef = z.object({ job_id: jobId, attempt, lease_id: leaseId });
export type DispatchRef = z.infer<typeof DispatchRef>;

// ===== Job failure codes (one table for both sides) =====

export const JOB_ERROR_CODES = {
  invalid_workflow: {
    retryable: false,
    doc: "The workflow was refused: by the host's policy (a node class not allowed, a file input the host did not place) or by ComfyUI (400 or node_errors); details carry the errors",
  },
  execution_error: { retryable: false, doc: "A node raised during execution" },
  out_of_memory: { retryable: false, doc: "The GPU ran out of memory" },
  timeout: { retryable: false, doc: "The job ran past its deadline and was interrupted" },
  input_unavailable: { retryable: true, doc: "An input could not be fetched from the edge or uploaded to ComfyUI" },
  model_unavailable: {
    retryable: true,
    doc: "A model file the job needs could not be fetched from the edge, failed its size or SHA-256 check, or did not fit the host's model cache",
  },
  output_upload_failed: { retryable: true, doc: "An output could not be uploaded to the edge" },
  host_error: { retryable: true, doc: "ComfyUI was lost (crash, restart) or misbehaved" },
  host_draining: { retryable: true, doc: "The host is shutting down and handed the job back" },
} as const;
export type JobErrorCode = keyof typeof JOB_ERROR_CODES;
export const jobErrorCode = z.enum(Object.keys(JOB_ERROR_CODES) as [JobErrorCode, ...JobErrorCode[]]);

export const JobFailure = z.object({
  code: jobErrorCode,
  message: z.string().max(4000),
  /** ComfyUI's own error payload where there is one (node_errors, exception_type, traceback…). */
  details: z.unknown().optional(),
});
export type JobFailure = z.infer<typeof JobFailure>;

// ===== edge → host =====

/** An input the host fetches from the edge (GPU hosts never fetch user URLs). */
export const InputRef = z.object({
  id: z.string().min(1).max(64),
  /** The node and input whose value the host replaces with the uploaded file name. */
  node_id: z.string().min(1).max(64),
  input_name: z.string().min(1).max(128),
  filename: z.string().min(1).max(255),
  content_type: z.string().max(128),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type InputRef = z.infer<typeof InputRef>;

/**
 * A registered model file the job names (src/models): the host makes sure ComfyUI sees exactly
 * these bytes at `<models>/<folder>/<name>`, fetching them from the edge (edgePaths.model) when
 * it does not have them, and verifying size and SHA-256 as they stream.
 */
export const ModelRef = z.object({
  folder: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  name: z
    .string()
    .min(1)
    .max(512)
    .refine(
      (n) => !n.startsWith("/") && !n.includes("\\") && !n.split("/").some((s) => s === ".." || s === "." || s === ""),
      "a relative path inside its folder",
    ),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().min(1),
});
export type ModelRef = z.infer<typeof ModelRef>;

/**
 * Sampler previews for one job (issue 15): the host forwards the latest frame ComfyUI sent, at
 * most one per `min_interval_ms` (newer frames replace an unsent one; none is retried) and none
 * larger than `max_bytes`, to edgePaths.preview. Absent from a dispatch: the job's pool has
 * previews off, and the host sends none.
 */
export const PreviewTerms = z.object({
  min_interval_ms: z.number().int().min(50).max(60_000),
  max_bytes: z
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024),
});
export type PreviewTerms = z.infer<typeof PreviewTerms>;

/** What a preview frame may be (the edge checks the bytes too). */
export const PREVIEW_CONTENT_TYPES = ["image/jpeg", "image/png"] as const;

export const DispatchRequest = DispatchRef.extend({
  tenant_id: z.string().min(1).max(64),
  /** ComfyUI API-format prompt, already checked structurally by the edge. */
  workflow: z.record(z.string(), z.unknown()),
  inputs: z.array(InputRef).max(64),
  /** Registered model files it names (absent from older edges: none). */
  models: z.array(ModelRef).max(64).default([]),
  /** Forward sampler previews under these terms (absent: previews are off, send none). */
  preview: PreviewTerms.optional(),
  /** Execution deadline, counted from ComfyUI's execution_start. */
  deadline_ms: z.number().int().min(1_000),
  /** The lease lasts this long unless renewed by heartbeat or events. */
  lease_ttl_ms: z.number().int().min(1_000),
});
export type DispatchRequest = z.infer<typeof DispatchRequest>;

export const DispatchReply = z.object({
  accepted: z.boolean(),
  /** Jobs the host now holds (running, queued or preparing), this one included. */
  held: z.number().int().min(0),
});
export type DispatchReply = z.infer<typeof DispatchReply>;

export const CancelRequest = DispatchRef.extend({ reason: z.enum(["user", "timeout", "lease_revoked"]) });
export type CancelRequest = z.infer<typeof CancelRequest>;

// ===== host → edge =====

export const HOST_JOB_STATES = ["preparing", "queued", "running", "uploading"] as const;

export const Heartbeat = z.object({
  type: z.literal("host.heartbeat"),
  host_id: hostId,
  sent_at: z.number().int(),
  version: z.string().max(64),
  /** SHA-256 of the host's canonical lock file (ComfyUI, custom nodes, requirements, models). */
  lock_hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Jobs the host can take at once (running + queued in ComfyUI + preparing ahead). */
  capacity: z.number().int().min(0).max(64),
  free_slots: z.number().int().min(0).max(64),
  draining: z.boolean(),
  comfy: z.enum(["starting", "ready", "down"]),
  jobs: z.array(DispatchRef.extend({ state: z.enum(HOST_JOB_STATES) })).max(64),
  /** Hash of the catalog the host last published (src/protocol/catalog.ts); absent on older hosts. */
  catalog_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** Models loaded in VRAM now, as "folder/name" (absent when ComfyUI does not say: see docs/gpu-backend.md). */
  resident_models: z.array(z.string().min(1).max(600)).max(64).optional(),
  /** The `kid`s of the edge keys the host pins now (src/protocol/jwks-update.ts); absent on older hosts. */
  edge_kids: z.array(z.string().min(1).max(64)).max(8).optional(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export const HeartbeatReply = z.object({
  /** Jobs whose lease the edge renewed, with the new expiry (epoch ms). */
  renewed: z.array(DispatchRef.extend({ lease_expires_at: z.number().int() })),
  /** Jobs to cancel (the user asked); report `job.cancelled` when ComfyUI confirms. */
  cancel: z.array(DispatchRef),
  /** Jobs this host must drop silently: their lease moved on (another attempt owns them). */
  revoked: z.array(DispatchRef),
  /** The edge does not hold the catalog the heartbeat named (or none was named): publish it again. */
  catalog_wanted: z.boolean().optional(),
  /**
   * The registry files the host's pool always keeps: pin them in the model cache (never evicted)
   * and fetch the missing ones ahead of any job (edgePaths.pinnedModel). Absent: none.
   */
  pinned_models: z.array(ModelRef).max(64).optional(),
  /**
   * The edge's keys changed from what the heartbeat's `edge_kids` names: the JWKS to pin from now
   * on, as a JWT signed by the edge's current key (src/protocol/jwks-update.ts). Pin it only if a
   * key pinned now verifies it.
   */
  edge_jwks: z.string().max(16_384).optional(),
});
export type HeartbeatReply = z.infer<typeof HeartbeatReply>;

export const OutputDescriptor = z.object({
  /** Unique within the job; what `GET /v1/jobs/{id}/outputs/{name}` uses. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/),
  content_type: z.string().min(1).max(128),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The ComfyUI node that produced it and the history key it came from ("images", "audio", …). */
  node_id: z.string().max(64),
  kind: z.string().max(64),
});
export type OutputDescriptor = z.infer<typeof OutputDescriptor>;

/**
 * Where a host spent one attempt's time, in milliseconds (fractions kept: the steps on a fast job
 * take well under one), sent with the terminal event so the edge can log the whole job in one
 * line (`job_finished`). Each span is one step of gpu-backend's run (gpu-backend/src/jobs/spans.ts
 * says which); a step the attempt never reached is absent.
 */
export const HOST_SPANS = ["accept", "prepare", "submit", "comfy_queue", "execution", "collect", "upload"] as const;
export type HostSpan = (typeof HOST_SPANS)[number];
export const HostSpans = z.partialRecord(
  z.enum(HOST_SPANS),
  z
    .number()
    .min(0)
    .max(7 * 86_400_000),
);
export type HostSpans = z.infer<typeof HostSpans>;

const eventBase = DispatchRef.extend({
  host_id: hostId,
  /** Per-(job, attempt) sequence number: the edge ignores an event not newer than the last one. */
  seq: z.number().int().min(0),
  at: z.number().int(),
});

export const JobEvent = z.discriminatedUnion("type", [
  eventBase.extend({
    type: z.literal("job.started"),
    prompt_id: z.string().max(64),
    /** How long this attempt waited for its model files before its prompt went to ComfyUI (0: all present). */
    model_fetch_ms: z.number().int().min(0).optional(),
    /** How long fetching its inputs from the edge and placing them in ComfyUI took. */
    input_fetch_ms: z.number().int().min(0).optional(),
  }),
  eventBase.extend({
    type: z.literal("job.progress"),
    progress: z.object({
      /** The current node's own progress (a sampler's steps), as ComfyUI's `progress` message says. */
      value: z.number().min(0),
      max: z.number().min(0),
      node: z.string().max(64).nullable(),
      /** The current node's class_type in the dispatched workflow (absent on older hosts). */
      node_type: z.string().max(128).nullable().optional(),
      /**
       * Overall progress of the prompt, 0-100: the nodes it executes (cached ones count as done)
       * weighted equally, the running one by its value/max. Absent on older hosts.
       */
      percent: z.number().min(0).max(100).optional(),
    }),
  }),
  /**
   * ComfyUI finished the prompt; outputs are being collected and uploaded. The GPU is free for
   * the next job from here on, so the edge stops counting this job against the host's slots.
   * Best effort (never retried): a heartbeat listing the job as `uploading` has the same effect.
   */
  eventBase.extend({
    type: z.literal("job.executed"),
    /** ComfyUI's execution of the prompt, from its execution start to its end. */
    execution_ms: z.number().int().min(0).optional(),
  }),
  eventBase.extend({
    type: z.literal("job.succeeded"),
    outputs: z.array(OutputDescriptor).max(256),
    /** Collecting the outputs from ComfyUI and uploading them to the edge. */
    upload_ms: z.number().int().min(0).optional(),
    /** As job.executed's: the success says it too, since a job whose outputs were up within 25 ms sends no job.executed. */
    execution_ms: z.number().int().min(0).optional(),
    /** As job.started's, which a prompt over within 25 ms never sends. */
    model_fetch_ms: z.number().int().min(0).optional(),
    input_fetch_ms: z.number().int().min(0).optional(),
    spans: HostSpans.optional(),
  }),
  eventBase.extend({
    type: z.literal("job.failed"),
    error: JobFailure,
    model_fetch_ms: z.number().int().min(0).optional(),
    input_fetch_ms: z.number().int().min(0).optional(),
    spans: HostSpans.optional(),
  }),
  eventBase.extend({ type: z.literal("job.cancelled"), spans: HostSpans.optional() }),
]);
export type JobEvent = z.infer<typeof JobEvent>;

export const EventReply = z.object({
  /** False when the event was a duplicate or older than one already applied (harmless). */
  applied: z.boolean(),
});
export type EventReply = z.infer<typeof EventReply>;

/**
 * What a host signs for a request without a JSON body (input download, output upload): sent in the
 * `x-request-manifest` header; the edge checks it names the request's own method and path.
 */
export const RequestManifest = DispatchRef.extend({
  host_id: hostId,
  method: z.enum(["GET", "PUT"]),
  path: z.string().max(512),
  /** For uploads: what the body must be (checked while it streams into storage). */
  content_type: z.string().max(128).optional(),
  size: z.number().int().min(0).optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** For uploads: the producing node and history key, as in OutputDescriptor. */
  node_id: z.string().max(64).optional(),
  kind: z.string().max(64).optional(),
  /**
   * For a job's last output upload: its `job.succeeded`, applied by the edge once this output is
   * stored, so a job ends with one signed call instead of an upload and then an event. The reply
   * (`OutputStored.terminal`) says it was applied; without that (an older edge), the host posts
   * the event as usual. Hosts attach it only while the manifest stays under
   * MAX_CARRIED_MANIFEST_CHARS (it travels in a header).
   */
  terminal: JobEvent.optional(),
});
export type RequestManifest = z.infer<typeof RequestManifest>;

/** A manifest carrying a terminal event stays under this (header size limits leave room for it many times). */
export const MAX_CARRIED_MANIFEST_CHARS = 6_000;

/** The edge's answer to an output upload (201). */
export const OutputStored = z.object({
  stored: z.literal(true),
  name: z.string().optional(),
  size: z.number().int().optional(),
  /** The carried terminal event's outcome, when the manifest had one. */
  terminal: EventReply.optional(),
});
export type OutputStored = z.infer<typeof OutputStored>;

/** A host's GET that is not about a job (a pool's pinned model file): names only host, method and path. */
export const HostManifest = z
  .object({
    host_id: hostId,
    method: z.literal("GET"),
    path: z.string().max(512),
  })
  .strict();
export type HostManifest = z.infer<typeof HostManifest>;
