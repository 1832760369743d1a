/**
 * RunPod as a GPU provider (provider.ts), through RunPod's REST API v2 and nothing else: fetch only
 * (it runs in the Worker). v1 (https://rest.runpod.io/v1) is retired: 2026-11-15 per
 * https://docs.runpod.io/api-reference/overview (an earlier edition of
 * https://docs.runpod.io/api-reference-v2/migrate-from-v1 said 2026-12-01).
 * What each call sends and reads follows RunPod's published v2 reference (OpenAPI "Runpod REST API
 * 2.0.0", https://api.runpod.io/v2/openapi.json, as synced to the docs on 2026-08-18, Frontdoor v2.9.0):
 * - https://docs.runpod.io/api-reference-v2/overview (base URL https://api.runpod.io/v2, Bearer key)
 * - https://docs.runpod.io/api-reference-v2/pods/create-a-pod (POST /v2/pods: CreatePodRequest →
 *   201 Pod in PROVISIONING; places exactly one GPU type, no fallback; 400 = a cross-field rule or
 *   "could not be placed", 402 = insufficient balance, 403 = no access to that pool, 422 = body
 *   does not match the contract)
 * - https://docs.runpod.io/api-reference-v2/pods/list-pods (GET /v2/pods → 200 {"pods": [Pod]};
 *   no pagination and no name filter are documented; cluster member pods are left out by default)
 * - https://docs.runpod.io/api-reference-v2/pods/terminate-a-pod (DELETE /v2/pods/{id} → 204; 404
 *   not found; 409 the pod belongs to a cluster)
 * - errors are RFC 9457 problem details, application/problem+json {title, status, detail, errors?}
 *   (ErrorResponse; https://docs.runpod.io/api-reference-v2/migrate-from-v1#rfc-9457-error-objects)
 * - https://docs.runpod.io/pods/configuration/expose-ports (proxy URL https://{podId}-{port}.proxy.runpod.net;
 *   the v2 Pod carries no URL of its own: runtime.ports lists only public port mappings)
 *
 * GPU types: the template's gpu_type_ids are tried in turn, one create each. A 400 (the docs: "this
 * GPU and data center combination could not be placed" — capacity has no code of its own) or a 403
 * (no access to that pool) moves on to the next type; anything else ends the launch at once: 402
 * and 401 because no other type can succeed, 422 and other 4xx because the request itself is wrong,
 * and 429, 5xx, timeouts and network errors (retryable) because the provider never retries by
 * itself — after a timeout the pod may exist, and trying the next type could rent a second one.
 * When every type is refused the error names each type with its status and gives RunPod's last
 * detail (the docs: if every candidate answers 400, read it as a problem with the request).
 *
 * Invariants: the API key goes only into the Authorization header of calls to `baseUrl` (https, or
 * http on loopback for tests) and is cut out of every message; every call ends by `timeoutMs`,
 * body included; at most 1 MiB of any answer is read; an answer is used only after zod checked the
 * fields we read. Failures are `ProviderError`s: timeouts, network errors, 408, 429 and 5xx are
 * retryable, everything else (bad key, bad settings, no capacity anywhere, an answer of the wrong
 * shape) is not. A launch that failed after RunPod may have created a pod is found by `list` under
 * our prefix (the scaler reconciles it like any other).
 */
import { z } from "zod";
import { errorText } from "../lib/log.ts";
import { readCapped } from "../ssrf/read-capped.ts";
import { type LaunchSpec, type Provider, ProviderError, type ProviderInstance } from "./provider.ts";

export const RUNPOD_API_V2 = "https://api.runpod.io/v2";
/**
 * Our bound on a pod name, not RunPod's: v2's CreatePodRequest.name documents only `minLength: 1`;
 * this is v1's documented maxLength, kept so no name goes out that RunPod has never taken.
 */
export const RUNPOD_MAX_NAME = 191;
/** PersistentMount.size: `minimum: 10` ("Upstream enforces a 10 GB floor"). */
export const RUNPOD_MIN_VOLUME_GB = 10;
const DEFAULT_MOUNT_PATH = "/workspace";
const MAX_ANSWER_BYTES = 1 << 20;
const MAX_MESSAGE_CHARS = 500;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Not specified by the docs (examples: "7h9k2m4n6p", "pod_abc123"); checked because the id becomes
// a path segment and the first label of the proxy hostname.
const POD_ID = /^[A-Za-z0-9_]{1,64}$/;

/**
 * A pool's RunPod settings (the admin API validates them with this schema). gpu_type_ids are RunPod
 * GPU type ids (GET /v2/catalog/gpus) in the order to try them: v2 places one type per create, so
 * the provider moves to the next only when RunPod could not place the one before. Fields left out
 * get RunPod's own defaults (v2 documents none for the container disk) or nothing: no volume_gb, no
 * volume (v2 creates a pod without mounts; v1's default 20 GB volume is gone). volume_gb 0 also
 * means none; otherwise it is a host-local persistent mount of at least 10 GB at volume_mount_path
 * (default /workspace, which v2 no longer fills in for us).
 */
export const runPodTemplateSchema = z
  .strictObject({
    image: z.string().min(1).max(1024),
    gpu_type_ids: z
      .array(z.string().min(1).max(191))
      .min(1)
      .max(64)
      .refine((ids) => new Set(ids).size === ids.length, "GPU type ids must not repeat"),
    gpu_count: z.number().int().min(1).default(1),
    cloud_type: z.enum(["SECURE", "COMMUNITY"]).default("SECURE"),
    container_disk_gb: z.number().int().min(1).optional(),
    volume_gb: z
      .number()
      .int()
      .refine((gb) => gb === 0 || gb >= RUNPOD_MIN_VOLUME_GB, `0 (no volume) or at least ${RUNPOD_MIN_VOLUME_GB}`)
      .optional(),
    volume_mount_path: z
      .string()
      .regex(/^\/\S*$/, "an absolute path")
      .optional(),
    /** The gpu-backend's HTTP port inside the pod, exposed as `<port>/http` through RunPod's proxy. */
    port: z.number().int().min(1).max(65535).default(8080),
    /** Extra environment for the pod, not secret (RunPod shows a pod's env to anyone with the key). */
    env: z.record(z.string().regex(ENV_NAME, "an environment variable name"), z.string()).default({}),
  })
  .superRefine((t, ctx) => {
    if (t.volume_mount_path !== undefined && !t.volume_gb) {
      ctx.addIssue({ code: "custom", path: ["volume_mount_path"], message: "a mount path needs a volume (volume_gb)" });
    }
  });
/** What an operator writes; defaults are filled in by the schema. */
export type RunPodTemplate = z.input<typeof runPodTemplateSchema>;
type Template = z.output<typeof runPodTemplateSchema>;

export interface RunPodOptions {
  apiKey: string;
  template: RunPodTemplate;
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

// The documented Pod fields we read. The reference requires more (actions, mounts, ssh, …); we
// require only what we cannot do without (id, status) and let the rest be absent or null.
const podSchema = z.object({
  id: z.string().regex(POD_ID, "a pod id of 1-64 letters, digits or _"),
  name: z.string().nullish(),
  status: z.enum(["PROVISIONING", "STARTING", "RUNNING", "EXITED", "ERROR", "TERMINATED"]),
  // "Current cost in USD per hour (0.0 when EXITED or TERMINATED)".
  cost: z.number().nonnegative().nullish(),
  // "Exposed ports, formatted as port/protocol".
  ports: z.array(z.string()).nullish(),
});
type Pod = z.output<typeof podSchema>;
// ListPodsResponse. Only the pods whose name has our prefix are checked against podSchema, so
// someone else's odd pod on the account cannot break our listing.
const podsSchema = z.object({ pods: z.array(z.record(z.string(), z.unknown())) });
// ErrorResponse (RFC 9457): title, status and detail required, errors optional.
const problemSchema = z.object({
  title: z.string().optional(),
  detail: z.string(),
  errors: z.array(z.string()).optional(),
});

type Answer = { status: number; text: string; retryAfter: string | null };

export class RunPodProvider implements Provider {
  readonly kind = "runpod" as const;
  readonly #apiKey: string;
  readonly #template: Template;
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: RunPodOptions) {
    if (!options.apiKey) throw new TypeError("RunPodProvider needs an API key");
    const base = new URL(options.baseUrl ?? RUNPOD_API_V2);
    const loopback = base.hostname === "127.0.0.1" || base.hostname === "localhost" || base.hostname === "[::1]";
    if (base.protocol !== "https:" && !(base.protocol === "http:" && loopback)) throw new TypeError("RunPodProvider's baseUrl must be https");
    this.#apiKey = options.apiKey;
    this.#template = runPodTemplateSchema.parse(options.template);
    this.#baseUrl = base.href.replace(/\/+$/, "");
    // Wrapped so a detached call keeps the runtime's binding.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  async launch(spec: LaunchSpec): Promise<ProviderInstance> {
    if (spec.name.length === 0 || spec.name.length > RUNPOD_MAX_NAME) {
      throw new ProviderError(`RunPod launch: the pod name must be 1-${RUNPOD_MAX_NAME} characters (got ${spec.name.length})`, { retryable: false });
    }
    const t = this.#template;
    // CreatePodRequest (unknown fields are refused with a 422, so only documented ones).
    const body: Record<string, unknown> = {
      name: spec.name,
      image: t.image,
      cloud: t.cloud_type,
      env: { ...t.env, ...spec.env },
      ports: [`${t.port}/http`],
    };
    if (t.container_disk_gb !== undefined) body.disk = t.container_disk_gb;
    if (t.volume_gb) body.mounts = { persistent: { size: t.volume_gb, path: t.volume_mount_path ?? DEFAULT_MOUNT_PATH } };

    const refused: { gpu: string; answer: Answer }[] = [];
    for (const gpu of t.gpu_type_ids) {
      const op = `launch (GPU type ${gpu})`;
      const answer = await this.#call(op, "POST", "/pods", { ...body, gpu: { id: gpu, count: t.gpu_count } });
      if (answer.status === 201 || answer.status === 200) {
        const pod = this.#parse(op, podSchema, this.#json(op, answer));
        return this.#instance(pod, spec.name);
      }
      // 400: could not be placed (or a rule broken, which then fails alike on every type); 403: no
      // access to this type's pool. Both: the documented "try your next candidate".
      if (answer.status === 400 || answer.status === 403) {
        refused.push({ gpu, answer });
        continue;
      }
      const before = refused.length > 0 ? ` (refused before: ${refused.map((r) => `${r.gpu}: HTTP ${r.answer.status}`).join(", ")})` : "";
      throw this.#httpError(op, answer, before);
    }
    const last = refused.at(-1)!.answer;
    const tried = refused.map((r) => `${r.gpu}: HTTP ${r.answer.status}`).join(", ");
    throw this.#error(`RunPod launch: no GPU type could be placed (tried ${tried}); last answer: ${this.#detail(last)}`, {
      retryable: false,
      status: last.status,
    });
  }

  async terminate(providerId: string): Promise<void> {
    const path = this.#podPath("terminate", providerId);
    const answer = await this.#call("terminate", "DELETE", path);
    // 204 documented (200 taken too); 404 "not found or not accessible": gone is what we wanted.
    if (answer.status === 204 || answer.status === 200 || answer.status === 404) return;
    throw this.#httpError("terminate", answer);
  }

  async list(prefix: string): Promise<ProviderInstance[]> {
    // An empty prefix would take in every pod on the account, which reconciliation could then end.
    if (prefix.length === 0) throw new ProviderError("RunPod list: the name prefix must not be empty", { retryable: false });
    // v2 documents neither a name filter nor pagination on GET /v2/pods: one call, filtered here.
    // Cluster member pods are left out (includeClusterPods defaults to false): we never make them.
    const answer = await this.#call("list", "GET", "/pods");
    if (answer.status !== 200) throw this.#httpError("list", answer);
    const { pods } = this.#parse("list", podsSchema, this.#json("list", answer));
    const ours: ProviderInstance[] = [];
    for (const raw of pods) {
      if (typeof raw.name !== "string" || !raw.name.startsWith(prefix)) continue;
      ours.push(this.#instance(this.#parse("list", podSchema, raw), raw.name));
    }
    return ours;
  }

  #instance(pod: Pod, fallbackName: string): ProviderInstance {
    return {
      providerId: pod.id,
      name: pod.name ?? fallbackName,
      state: stateOf(pod),
      url: this.#proxyUrl(pod),
      costPerHour: pod.cost ?? null,
    };
  }

  /** RunPod's proxy URL of our port: the template's if the pod exposes it, else its first HTTP port. */
  #proxyUrl(pod: Pod): string | null {
    const http = pod.ports === null || pod.ports === undefined ? [this.#template.port] : pod.ports.flatMap((p) => httpPort(p));
    const port = http.includes(this.#template.port) ? this.#template.port : http[0];
    return port === undefined ? null : `https://${pod.id}-${port}.proxy.runpod.net`;
  }

  #podPath(op: string, providerId: string): string {
    if (!POD_ID.test(providerId)) throw new ProviderError(`RunPod ${op}: not a RunPod pod id`, { retryable: false });
    return `/pods/${encodeURIComponent(providerId)}`;
  }

  async #call(op: string, method: string, path: string, body?: unknown): Promise<Answer> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}`, accept: "application/json, application/problem+json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      const res = await this.#fetch(`${this.#baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // A redirect is not part of this API; following one would carry the key elsewhere.
        redirect: "manual",
        signal,
      });
      const read = await readCapped(res.body, MAX_ANSWER_BYTES, signal);
      if (!read.ok && read.reason === "aborted") throw this.#timeout(op);
      if (!read.ok) throw this.#error(`RunPod ${op}: the answer is larger than ${MAX_ANSWER_BYTES} bytes`, { retryable: false, status: res.status });
      return { status: res.status, text: new TextDecoder().decode(read.bytes), retryAfter: res.headers.get("retry-after") };
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      if (signal.aborted) throw this.#timeout(op);
      throw this.#error(`RunPod ${op}: request failed: ${errorText(err)}`, { retryable: true, cause: err });
    }
  }

  #timeout(op: string): ProviderError {
    return this.#error(`RunPod ${op}: no answer within ${this.#timeoutMs} ms`, { retryable: true });
  }

  #httpError(op: string, answer: Answer, suffix = ""): ProviderError {
    const { status } = answer;
    if (status >= 300 && status < 400) return this.#error(`RunPod ${op}: unexpected redirect (HTTP ${status})${suffix}`, { retryable: false, status });
    const retryable = status === 408 || status === 429 || status >= 500;
    return this.#error(`RunPod ${op}: ${this.#detail(answer)}${suffix}`, { retryable, status });
  }

  /** "HTTP 422 (retry after …): Title: detail [errors]" from a problem, or the text itself when it is not one. */
  #detail(answer: Answer): string {
    let detail = answer.text.trim();
    try {
      const problem = problemSchema.safeParse(JSON.parse(answer.text));
      if (problem.success) {
        const p = problem.data;
        detail = [p.title, p.detail].filter((s) => s?.trim()).join(": ");
        if (p.errors?.length) detail += ` [${p.errors.slice(0, 5).join("; ")}]`;
      }
    } catch {
      // not JSON: the text itself (e.g. a proxy's error page) says what there is to say
    }
    const wait = answer.status === 429 && answer.retryAfter ? ` (retry after ${answer.retryAfter.slice(0, 20)} s)` : "";
    return `HTTP ${answer.status}${wait}${detail ? `: ${detail}` : ""}`;
  }

  #json(op: string, answer: Answer): unknown {
    try {
      return JSON.parse(answer.text);
    } catch {
      throw this.#error(`RunPod ${op}: the answer (HTTP ${answer.status}) is not JSON`, { retryable: false, status: answer.status });
    }
  }

  #parse<S extends z.ZodType>(op: string, schema: S, value: unknown): z.output<S> {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw this.#error(`RunPod ${op}: unexpected answer: ${issues.join("; ")}`, { retryable: false });
  }

  /** Every message goes through here: the key cut out first, then control characters, then bounded. */
  #error(message: string, opts: { retryable: boolean; status?: number; cause?: unknown }): ProviderError {
    let text = message.replaceAll(this.#apiKey, "[redacted]").replace(/[\u0000-\u001f\u007f]+/g, " ");
    if (text.length > MAX_MESSAGE_CHARS) text = `${text.slice(0, MAX_MESSAGE_CHARS)}…`;
    return new ProviderError(text, opts);
  }
}

/** PodStatus → our state: PROVISIONING/STARTING are on the way, RUNNING is "container is healthy". */
function stateOf(pod: Pod): ProviderInstance["state"] {
  switch (pod.status) {
    case "PROVISIONING":
    case "STARTING":
      return "starting";
    case "RUNNING":
      return "running";
    // ERROR: "unrecoverable"; it stays listed until terminated, like an exited pod.
    case "EXITED":
    case "ERROR":
    case "TERMINATED":
      return "stopped";
  }
}

function httpPort(entry: string): number[] {
  const m = /^\s*(\d{1,5})\/http\s*$/.exec(entry);
  return m ? [Number(m[1])] : [];
}
