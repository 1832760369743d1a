/**
 * The admin client: the operator's side of the API (`/v1/admin/…`, `Authorization: Bearer
 * $ADMIN_TOKEN`): GPU pools and hosts, tenants, their API keys, and recent failures. Same transport
 * as ComfyClient (transport.ts): openapi-fetch on the generated types, the same retry policy, and
 * every failure an ApiError with the problem document. The admin token can do everything: keep it
 * to the operator's own machines and sessions (the console's operator view holds it in that tab's
 * sessionStorage only), never in code or pages a tenant can reach.
 */
import type { RetryPolicy } from "./retry.ts";
import type { components } from "./schema.ts";
import { type Api, createTransport, ok } from "./transport.ts";

type Schemas = components["schemas"];
export type Pool = Schemas["Pool"];
export type PoolPatch = Schemas["PatchPool"];
export type GpuHost = Schemas["GpuHost"];
export type Tenant = Schemas["Tenant"];
export type TenantPatch = Schemas["PatchTenant"];
export type TenantPage = Schemas["TenantList"];
export type ApiKey = Schemas["ApiKey"];
/** A new key: `key` is its secret, shown in this answer only. */
export type CreatedApiKey = Schemas["CreatedApiKey"];
export type Failures = Schemas["Failures"];
export type TenantDeletion = Schemas["TenantDeletion"];
export type UserErasure = Schemas["UserErasure"];
export type FailureGroup = Schemas["FailureGroup"];

export interface AdminClientOptions {
  /** The API's origin, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** The deployment's ADMIN_TOKEN. */
  adminToken: string;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
}

export class ComfyAdminClient {
  readonly baseUrl: string;
  private readonly api: Api;

  constructor(opts: AdminClientOptions) {
    const transport = createTransport({
      baseUrl: opts.baseUrl,
      headers: { Authorization: `Bearer ${opts.adminToken}` },
      fetch: opts.fetch,
      retry: opts.retry,
    });
    this.baseUrl = transport.baseUrl;
    this.api = transport.api;
  }

  /** GPU pools, each with its Dispatcher's live state (`status`; null when it did not answer). */
  readonly pools = {
    list: async (): Promise<Pool[]> => ok(await this.api.GET("/v1/admin/pools", {})).data,
    get: async (name: string): Promise<Pool> => ok(await this.api.GET("/v1/admin/pools/{name}", { params: { path: { name } } })),
    /** Omitted fields stay; null clears one. The name never changes. */
    update: async (name: string, patch: PoolPatch): Promise<Pool> =>
      ok(await this.api.PATCH("/v1/admin/pools/{name}", { params: { path: { name } }, body: patch })),
  };

  /** Registered GPU hosts with their live state. */
  readonly hosts = {
    list: async (): Promise<GpuHost[]> => ok(await this.api.GET("/v1/admin/hosts", {})).data,
    /** No new work goes to the host; the jobs on it finish. */
    drain: async (id: string): Promise<GpuHost> => ok(await this.api.POST("/v1/admin/hosts/{id}/drain", { params: { path: { id } } })),
    /** A drained host gets work again. */
    resume: async (id: string): Promise<GpuHost> => ok(await this.api.POST("/v1/admin/hosts/{id}/resume", { params: { path: { id } } })),
  };

  readonly tenants = {
    /** One page, newest first; pass `next_cursor` back as `cursor` until it is null. */
    list: async (opts: { limit?: number; cursor?: string } = {}): Promise<TenantPage> =>
      ok(
        await this.api.GET("/v1/admin/tenants", {
          params: { query: { ...(opts.limit !== undefined ? { limit: opts.limit } : {}), ...(opts.cursor ? { cursor: opts.cursor } : {}) } },
        }),
      ),
    get: async (id: string): Promise<Tenant> => ok(await this.api.GET("/v1/admin/tenants/{id}", { params: { path: { id } } })),
    /** Omitted fields stay; a null limit goes back to the deployment default. */
    update: async (id: string, patch: TenantPatch): Promise<Tenant> =>
      ok(await this.api.PATCH("/v1/admin/tenants/{id}", { params: { path: { id } }, body: patch })),
    /** Revokes its keys now; the sweeper erases all it holds, then the tenant (GET answers 404 then). */
    delete: async (id: string): Promise<TenantDeletion> => ok(await this.api.DELETE("/v1/admin/tenants/{id}", { params: { path: { id } } })),
    /**
     * Erases one end-user's jobs and uploads, calling again (at most `maxCalls` times) while the
     * answer says something is left: the counts are the sum over the calls, `complete` the last word.
     */
    eraseUser: async (id: string, userId: string, opts: { maxCalls?: number } = {}): Promise<UserErasure> => {
      let total: UserErasure | undefined;
      for (let i = 0; i < (opts.maxCalls ?? 10); i++) {
        const got = ok(await this.api.DELETE("/v1/admin/tenants/{id}/users/{user_id}", { params: { path: { id, user_id: userId } } }));
        total = !total
          ? got
          : {
              ...got,
              jobs: total.jobs + got.jobs,
              inputs: total.inputs + got.inputs,
              outputs: total.outputs + got.outputs,
              uploads: total.uploads + got.uploads,
              objects: total.objects + got.objects,
              bytes: total.bytes + got.bytes,
            };
        if (got.complete) break;
      }
      return total!;
    },
  };

  readonly keys = {
    /** A tenant's keys, revoked ones included; never their secrets. */
    list: async (tenantId: string): Promise<ApiKey[]> => ok(await this.api.GET("/v1/admin/tenants/{id}/keys", { params: { path: { id: tenantId } } })).data,
    /** A new key; its secret (`key`) is in this answer only. Not retried on a 503: a retry could mint a second key. */
    create: async (tenantId: string, opts: { name?: string } = {}): Promise<CreatedApiKey> =>
      ok(await this.api.POST("/v1/admin/tenants/{id}/keys", { params: { path: { id: tenantId } }, body: opts.name ? { name: opts.name } : {} })),
    /** Revokes a key (idempotent); it is refused from the next request on. */
    revoke: async (keyId: string): Promise<ApiKey> => ok(await this.api.DELETE("/v1/admin/keys/{id}", { params: { path: { id: keyId } } })),
  };

  /** Failed jobs of the last `windowSeconds` (60 to 86400; default 3600), by error code and pool. */
  async failures(opts: { windowSeconds?: number } = {}): Promise<Failures> {
    return ok(
      await this.api.GET("/v1/admin/failures", {
        params: { query: opts.windowSeconds !== undefined ? { window_seconds: opts.windowSeconds } : {} },
      }),
    );
  }
}
