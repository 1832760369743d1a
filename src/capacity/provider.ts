/**
 * The GPU provider contract the autoscaler (a pool's PoolScaler) drives: launch an instance that
 * runs a gpu-backend beside ComfyUI, terminate it, list ours. Implementations: RunPod's REST API
 * (runpod.ts) and the local provider (local.ts: emulator + gpu-backend processes on this machine,
 * for dev, tests and benchmarks). Every instance we launch carries a name that starts with the
 * deployment's prefix, so `list` and reconciliation never touch anything else on the account.
 */

/** An instance as the provider reports it, in terms the policy needs. */
export interface ProviderInstance {
  /** The provider's own id (RunPod: the pod id). */
  providerId: string;
  /** The name we gave it at launch (starts with the prefix). */
  name: string;
  /**
   * starting: asked for, being placed or booting; running: the provider says it runs (the host may
   * still be starting ComfyUI: readiness is the host's own heartbeat); stopped: exited or being
   * removed but still listed.
   */
  state: "starting" | "running" | "stopped";
  /** Where the edge reaches its gpu-backend (RunPod: the proxy URL of the port); null until known. */
  url: string | null;
  /** What the provider charges for it, USD per hour, when it says. */
  costPerHour: number | null;
}

export interface LaunchSpec {
  /** Our name for the instance: the deployment's prefix, the pool, our instance id. */
  name: string;
  /** Environment of the gpu-backend: EDGE_URL, HOST_ID, BOOTSTRAP_TOKEN, … (no long-lived secret). */
  env: Record<string, string>;
}

export interface Provider {
  readonly kind: "runpod" | "local";
  /** Asks for one instance; resolves once the provider accepted it (it boots afterwards). */
  launch(spec: LaunchSpec): Promise<ProviderInstance>;
  /** Ends an instance for good (billing stops). An instance that is gone already is not an error. */
  terminate(providerId: string): Promise<void>;
  /** Our instances: those whose name starts with `prefix`. */
  list(prefix: string): Promise<ProviderInstance[]>;
}

/**
 * A provider call that failed. `retryable`: worth trying again after a back-off (timeouts, 429,
 * 5xx, network errors); otherwise the request itself is wrong (bad key, bad settings) and an
 * operator must act. `status` is the provider's HTTP status when there was one.
 */
export class ProviderError extends Error {
  readonly retryable: boolean;
  readonly status: number | null;

  constructor(message: string, opts: { retryable: boolean; status?: number | null; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ProviderError";
    this.retryable = opts.retryable;
    this.status = opts.status ?? null;
  }
}
