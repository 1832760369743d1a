// The whole system on loopback, as real processes: `wrangler dev` (the edge), and per GPU host one
// ComfyUI emulator and one gpu-backend, registered with the edge through the admin API. Used by
// `npm run dev`, the end-to-end tests and the benchmarks. stop() ends every process group.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { spawnBackend } from "./backend-process.ts";
import type { DevModel } from "./dev-models.ts";
import { newEdgeSigningKey } from "./edge-key.ts";
import { type EmulatorProcess, startEmulatorProcess } from "./emulator-process.ts";
import { captureOutput, freePort, startWranglerDev, type WranglerDev, type WranglerDevOptions } from "./wrangler-dev.ts";

export interface StackHost {
  id: string;
  port: number;
  emulatorPort: number;
  secret: string;
  backend: ChildProcess;
  emulator: EmulatorProcess;
  /** Sends a signal to the gpu-backend's process group. */
  signalBackend(signal: NodeJS.Signals): void;
  backendLogs(): string;
  backendExited(): Promise<number | null>;
}

export interface LocalStack {
  edge: WranglerDev;
  adminToken: string;
  hosts: StackHost[];
  admin(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

export interface StackOptions {
  hosts: number;
  /** Extra edge variables (e.g. short timeouts for tests). */
  vars?: Record<string, string>;
  /** Extra emulator flags, e.g. ["--step-ms", "5"]. */
  emulatorArgs?: string[];
  /** Model files every emulator gets besides the dev models (fakes of the declared size). */
  extraModels?: readonly DevModel[];
  /** Extra gpu-backend environment. */
  backendEnv?: Record<string, string>;
  /** Where hosts reach the edge, given its URL (default: the edge itself; tests put a proxy between). */
  hostEdgeUrl?: (edgeUrl: string) => string;
  /** Loopback host:port pairs the edge may fetch besides the hosts (test servers). */
  allowHosts?: string[];
  edge?: WranglerDevOptions;
  /** Secrets for the edge; generated when absent. */
  secrets?: { ADMIN_TOKEN: string; DATA_ENCRYPTION_KEYS: string; OUTPUT_URL_KEYS: string; EDGE_SIGNING_KEY: string };
  /** Show processes' output on this process's stdout. */
  inheritOutput?: boolean;
}

function groupKill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms`);
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** Tries to start a host's gpu-backend this many times when the port picked for it was taken meanwhile. */
const PORT_ATTEMPTS = 3;

export async function startLocalStack(opts: StackOptions): Promise<LocalStack> {
  const secrets = opts.secrets ?? {
    ADMIN_TOKEN: randomBytes(32).toString("hex"),
    DATA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    OUTPUT_URL_KEYS: `u1:${randomBytes(32).toString("base64")}`,
    EDGE_SIGNING_KEY: newEdgeSigningKey("edge-local"),
  };
  // Hosts on loopback need no allow-list outside production (src/lib/outbound-allow.ts); only test
  // servers that stand in for user URLs do.
  const edge = await startWranglerDev(
    { ENVIRONMENT: "development", ...secrets, ...(opts.allowHosts?.length ? { OUTBOUND_ALLOW_HOSTS: opts.allowHosts.join(",") } : {}), ...opts.vars },
    { ...opts.edge, inheritOutput: opts.inheritOutput ?? false },
  );
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${edge.url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${secrets.ADMIN_TOKEN}`, "Content-Type": "application/json", ...(init.headers as Record<string, string>) },
    });

  const hosts: StackHost[] = [];
  const emulators: EmulatorProcess[] = [];
  const stop = async () => {
    for (const h of hosts) groupKill(h.backend, "SIGTERM");
    await Promise.race([Promise.all(hosts.map((h) => exited(h.backend))), new Promise((r) => setTimeout(r, 5_000))]);
    for (const h of hosts) groupKill(h.backend, "SIGKILL");
    await Promise.all(emulators.map((e) => e.stop()));
    await edge.stop();
  };

  /**
   * Registers host `id` and starts its gpu-backend on a free port. The host's URL must be known
   * when it registers and its secret when it starts, so the port is picked first; if another
   * process took it in between, the backend exits with EADDRINUSE and it is tried again.
   */
  const startBackend = async (id: string, comfyUrl: string, comfyBaseDir: string) => {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      // A re-used state folder (npm run dev) may already know this host: start it afresh.
      await admin(`/v1/admin/hosts/${id}`, { method: "DELETE" });
      const reg = await admin("/v1/admin/hosts", { method: "POST", body: JSON.stringify({ id, url: `http://127.0.0.1:${port}`, slots: 1 }) });
      if (reg.status !== 201) throw new Error(`registering ${id}: ${reg.status} ${await reg.text()}`);
      const { secret, edge_jwks } = (await reg.json()) as { secret: string; edge_jwks: unknown };
      const backend = spawnBackend({
        HOST_ID: id,
        EDGE_URL: opts.hostEdgeUrl ? opts.hostEdgeUrl(edge.url) : edge.url,
        HOST_SECRET: secret,
        EDGE_JWKS: JSON.stringify(edge_jwks),
        PORT: String(port),
        COMFY_URL: comfyUrl,
        COMFY_BASE_DIR: comfyBaseDir,
        HEARTBEAT_INTERVAL_MS: "1000",
        ...opts.backendEnv,
      });
      const output = captureOutput(backend, opts.inheritOutput ?? false);
      const listening = await untilListening(backend, output);
      if (listening === "listening") return { port, secret, backend, output };
      if (listening === "port-taken" && attempt < PORT_ATTEMPTS) continue;
      throw new Error(`gpu-backend ${id} did not start (${listening}):\n${output().slice(-4_000)}`);
    }
  };

  try {
    for (let i = 0; i < opts.hosts; i++) {
      const id = `gpu-${i + 1}`;
      const emulator = await startEmulatorProcess(opts.emulatorArgs ?? [], { echo: opts.inheritOutput ?? false, extraModels: opts.extraModels ?? [] });
      emulators.push(emulator);
      const { port, secret, backend, output } = await startBackend(id, emulator.url, emulator.baseDir);
      hosts.push({
        id,
        port,
        emulatorPort: emulator.port,
        secret,
        backend,
        emulator,
        signalBackend: (signal) => groupKill(backend, signal),
        backendLogs: output,
        backendExited: () => exited(backend),
      });
    }
    // Ready when the edge sees every host live (its first heartbeat reported ComfyUI ready) and
    // holds its catalog, so every submit from here on is checked against what the hosts can run.
    await waitFor(
      "GPU hosts",
      async () => {
        const list = (await (await admin("/v1/admin/hosts")).json()) as { data: { id: string; live: boolean; comfy: string; catalog_known: boolean }[] };
        return hosts.every((h) => list.data.some((d) => d.id === h.id && d.live && d.comfy === "ready" && d.catalog_known));
      },
      60_000,
    );
  } catch (err) {
    const logs = hosts.map((h) => `--- ${h.id}\n${h.backendLogs().slice(-4000)}`).join("\n");
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
  }
  return { edge, adminToken: secrets.ADMIN_TOKEN, hosts, admin, stop };
}

/** Waits for gpu-backend's `service_started` log line, or its exit (bounded). */
async function untilListening(child: ChildProcess, output: () => string): Promise<"listening" | "port-taken" | "exited" | "timed out"> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (output().includes('"event":"service_started"')) return "listening";
    if (child.exitCode !== null || child.signalCode !== null) return /EADDRINUSE/.test(output()) ? "port-taken" : "exited";
    if (Date.now() > deadline) return "timed out";
    await new Promise((r) => setTimeout(r, 25));
  }
}
