/**
 * The `local` provider, from the Worker's side: a client of the local provider daemon
 * (scripts/lib/local-provider.ts), which starts a ComfyUI emulator and a gpu-backend as processes
 * on the developer's machine for each "instance". What `npm run dev --autoscale`, the end-to-end
 * tests and the capacity benchmark use in place of a cloud.
 */
import { LOCAL_PROVIDER_PATHS, LocalInstance, LocalInstanceList } from "./local-api.ts";
import { type LaunchSpec, type Provider, ProviderError, type ProviderInstance } from "./provider.ts";

export interface LocalProviderOptions {
  /** The daemon's origin (loopback). */
  url: string;
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const toInstance = (i: LocalInstance): ProviderInstance => ({ providerId: i.id, name: i.name, state: i.state, url: i.url, costPerHour: null });

export class LocalProvider implements Provider {
  readonly kind = "local" as const;
  private readonly opts: Required<Omit<LocalProviderOptions, "fetch">> & { fetch: typeof fetch };

  constructor(opts: LocalProviderOptions) {
    this.opts = { timeoutMs: 10_000, fetch: (r, i) => globalThis.fetch(r, i), ...opts, url: opts.url.replace(/\/+$/, "") };
  }

  async launch(spec: LaunchSpec): Promise<ProviderInstance> {
    const body = await this.call("POST", LOCAL_PROVIDER_PATHS.instances, { name: spec.name, env: spec.env }, [201]);
    return toInstance(parse(LocalInstance, body));
  }

  async terminate(providerId: string): Promise<void> {
    await this.call("DELETE", LOCAL_PROVIDER_PATHS.instance(providerId), undefined, [204, 404]);
  }

  async list(prefix: string): Promise<ProviderInstance[]> {
    const body = await this.call("GET", LOCAL_PROVIDER_PATHS.instances, undefined, [200]);
    return parse(LocalInstanceList, body)
      .data.filter((i) => i.name.startsWith(prefix))
      .map(toInstance);
  }

  private async call(method: string, path: string, body: unknown, ok: number[]): Promise<unknown> {
    let res: Response;
    try {
      res = await this.opts.fetch(`${this.opts.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.opts.token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      throw new ProviderError(`local provider ${method} ${path}: ${(err as Error).name}`, { retryable: true, cause: err });
    }
    const text = await res.text();
    if (!ok.includes(res.status)) {
      throw new ProviderError(`local provider ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`, {
        retryable: res.status === 429 || res.status >= 500,
        status: res.status,
      });
    }
    return text === "" ? null : (JSON.parse(text) as unknown);
  }
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ProviderError(`local provider: unexpected answer (${r.error.message.slice(0, 200)})`, { retryable: false });
  return r.data;
}
