/**
 * The comfyui-saas client: every call goes through openapi-fetch with the types generated from the
 * Worker's OpenAPI document (schema.ts), behind the retry policy of retry.ts (transport.ts), and
 * every failure is an ApiError carrying the problem document. fetch only: Node 22, Deno and
 * browsers alike. The admin API has its own client (admin.ts).
 */
import { ApiError, problemOf } from "./errors.ts";
import { defaultSleep, type RetryPolicy } from "./retry.ts";
import type { components } from "./schema.ts";
import { type Api, createTransport, ok } from "./transport.ts";
import { type JobStreamEvent, watchJob } from "./watch.ts";

export type Job = components["schemas"]["Job"];
export type JobOutput = components["schemas"]["JobOutput"];
export type Upload = components["schemas"]["Upload"];
export type Usage = components["schemas"]["Usage"];
export type WorkflowValidation = components["schemas"]["WorkflowValidation"];
export type Workflow = Record<string, unknown>;
export type JobStatus = Job["status"];

export interface ClientOptions {
  /** The API's origin, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** An API key (`csk_…`) or a tenant JWT. */
  apiKey: string;
  /** The end-user the calls act for (`X-User-ID`); needed with an API key. */
  userId?: string;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
}

export interface SubmitOptions {
  pool?: string;
  webhook?: { url: string; events?: ("job.running" | "job.succeeded" | "job.failed" | "job.cancelled")[] };
  metadata?: Record<string, unknown>;
  /** Retries of the same submit return the same job; created for you when absent. */
  idempotencyKey?: string;
  /** Seconds to wait for the job to end before answering (`Prefer: wait`, at most 60). */
  wait?: number;
}

const LIVE = new Set<JobStatus>(["queued", "running"]);
export const isLive = (job: Pick<Job, "status">): boolean => LIVE.has(job.status);

export class ComfyClient {
  readonly baseUrl: string;
  private readonly api: Api;
  private readonly fetcher: (r: Request) => Promise<Response>;
  private readonly headers: Record<string, string>;

  constructor(opts: ClientOptions) {
    this.headers = { Authorization: `Bearer ${opts.apiKey}`, ...(opts.userId ? { "X-User-ID": opts.userId } : {}) };
    const transport = createTransport({ baseUrl: opts.baseUrl, headers: this.headers, fetch: opts.fetch, retry: opts.retry });
    this.baseUrl = transport.baseUrl;
    this.api = transport.api;
    this.fetcher = transport.fetcher;
  }

  /** Submits a workflow (ComfyUI API format). With `wait`, the job may come back finished. */
  async submit(workflow: Workflow, opts: SubmitOptions = {}): Promise<Job> {
    return ok(
      await this.api.POST("/v1/jobs", {
        body: {
          workflow,
          ...(opts.pool ? { pool: opts.pool } : {}),
          ...(opts.webhook ? { webhook: opts.webhook } : {}),
          ...(opts.metadata ? { metadata: opts.metadata } : {}),
        },
        headers: { "Idempotency-Key": opts.idempotencyKey ?? crypto.randomUUID(), ...(opts.wait ? { Prefer: `wait=${opts.wait}` } : {}) },
      }),
    );
  }

  async get(id: string, opts: { wait?: number } = {}): Promise<Job> {
    return ok(
      await this.api.GET("/v1/jobs/{id}", {
        params: { path: { id } },
        headers: opts.wait ? { Prefer: `wait=${opts.wait}` } : {},
      }),
    );
  }

  async cancel(id: string): Promise<Job> {
    return ok(await this.api.DELETE("/v1/jobs/{id}", { params: { path: { id } } }));
  }

  /** Every job of the caller, newest first, page after page. */
  async *list(opts: { status?: JobStatus; pageSize?: number } = {}): AsyncGenerator<Job> {
    let cursor: string | undefined;
    for (;;) {
      const page = ok(
        await this.api.GET("/v1/jobs", {
          params: { query: { limit: opts.pageSize ?? 100, ...(opts.status ? { status: opts.status } : {}), ...(cursor ? { cursor } : {}) } },
        }),
      );
      yield* page.data;
      if (!page.next_cursor) return;
      cursor = page.next_cursor;
    }
  }

  /**
   * The job's events as they happen, from the start (or after `lastEventId`), until its terminal
   * event. A dropped connection is resumed with `Last-Event-ID`: nothing is lost or repeated.
   */
  watch(id: string, opts: { lastEventId?: number; signal?: AbortSignal } = {}): AsyncGenerator<JobStreamEvent> {
    return watchJob({ baseUrl: this.baseUrl, headers: this.headers, fetch: this.fetcher }, id, opts);
  }

  /** Waits until the job ends (`Prefer: wait` in rounds) or `timeoutMs` passes; the job as it is then. */
  async waitFor(id: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Job> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
    for (;;) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      const job = await this.get(id, left > 0 ? { wait: Math.min(60, left) } : {});
      if (!isLive(job) || left <= 0 || opts.signal?.aborted) return job;
    }
  }

  /** One output's bytes (its signed URL needs no credentials). */
  async download(output: Pick<JobOutput, "url" | "name">): Promise<Uint8Array> {
    const res = await this.fetcher(new Request(output.url));
    if (!res.ok) throw new ApiError(await problemOf(res));
    return new Uint8Array(await res.arrayBuffer());
  }

  readonly uploads = {
    /** Stores an image for workflows to use as `upload:<id>`. */
    create: async (file: Blob, opts: { filename?: string } = {}): Promise<Upload> => {
      const form = new FormData();
      form.set("file", file, opts.filename ?? (file instanceof File ? file.name : "upload"));
      const res = await this.fetcher(new Request(`${this.baseUrl}/v1/uploads`, { method: "POST", headers: this.headers, body: form }));
      if (!res.ok) throw new ApiError(await problemOf(res));
      return (await res.json()) as Upload;
    },
  };

  /** Checks a workflow against the pool's hosts without running it. */
  async validate(workflow: Workflow, opts: { pool?: string } = {}): Promise<WorkflowValidation> {
    return ok(await this.api.POST("/v1/workflows/validate", { body: { workflow, ...(opts.pool ? { pool: opts.pool } : {}) } }));
  }

  async usage(): Promise<Usage> {
    return ok(await this.api.GET("/v1/usage", {}));
  }
}

export { defaultSleep as sleep };
