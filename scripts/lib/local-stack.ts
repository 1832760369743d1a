// The whole system on loopback, as real processes: `wrangler dev` (the edge), and per GPU host one
// ComfyUI emulator and one gpu-backend, registered with the edge through the admin API. Used by
// `npm run dev`, the end-to-end tests and the benchmarks. stop() ends every process group.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnBackend } from "./backend-process.ts";
import type { DevModel } from "./dev-models.ts";
import { newEdgeSigningKey } from "./edge-key.ts";
import { type EmulatorProcess, startEmulatorProcess } from "./emulator-process.ts";
import { startTcpForwarder, type TcpForwarder } from "./tcp-forwarder.ts";
import { captureOutput, freePort, startWranglerDev, type WranglerDev, type WranglerDevOptions } from "./wrangler-dev.ts";

export interface StackHost {
  id: string;
  port: number;
  emulatorPort: number;
  secret: string;
  /** The current gpu-backend process (a new one after restartBackend or reinstate). */
  backend: ChildProcess;
  /** The current emulator process (a new one after restartEmulator). */
  emulator: EmulatorProcess;
  /** Sends a signal to the gpu-backend's process group. */
  signalBackend(signal: NodeJS.Signals): void;
  backendLogs(): string;
  backendExited(): Promise<number | null>;
  /** Starts the gpu-backend again after it exited: same id, port and secret, as a supervisor would. */
  restartBackend(): Promise<void>;
  /** Kills the emulator (SIGKILL: a crash) and waits until it is gone. */
  crashEmulator(): Promise<void>;
  /** Starts the emulator again on the same port and folders after it died. */
  restartEmulator(): Promise<void>;
  /** With `comfyProxy`: resets the gpu-backend's connections to ComfyUI whose first bytes match (all when absent); returns how many. */
  cutComfy(firstBytes?: RegExp): number;
  /** Registers the host anew (after it was removed) and starts a fresh gpu-backend with its new secret. */
  reinstate(): Promise<void>;
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
  /** Extra flags for one host's emulator (by host id), after `emulatorArgs`. */
  emulatorArgsFor?: (hostId: string) => string[];
  /** Put a TCP forwarder between each gpu-backend and its ComfyUI, so tests can cut its connections (StackHost.cutComfy). */
  comfyProxy?: boolean;
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
  const emulators = new Set<EmulatorProcess>();
  const proxies: TcpForwarder[] = [];
  const baseDirs: string[] = [];
  const stop = async () => {
    for (const h of hosts) groupKill(h.backend, "SIGTERM");
    await Promise.race([Promise.all(hosts.map((h) => exited(h.backend))), new Promise((r) => setTimeout(r, 5_000))]);
    for (const h of hosts) groupKill(h.backend, "SIGKILL");
    await Promise.all([...emulators].map((e) => e.stop()));
    await Promise.all(proxies.map((p) => p.close()));
    for (const dir of baseDirs) rmSync(dir, { recursive: true, force: true });
    await edge.stop();
  };

  const backendEnv = (id: string, port: number, secret: string, edgeJwks: unknown, comfyUrl: string, comfyBaseDir: string) => ({
    HOST_ID: id,
    EDGE_URL: opts.hostEdgeUrl ? opts.hostEdgeUrl(edge.url) : edge.url,
    HOST_SECRET: secret,
    EDGE_JWKS: JSON.stringify(edgeJwks),
    PORT: String(port),
    COMFY_URL: comfyUrl,
    COMFY_BASE_DIR: comfyBaseDir,
    HEARTBEAT_INTERVAL_MS: "1000",
    ...opts.backendEnv,
  });

  /** Spawns a gpu-backend with `env` and waits until it listens (or says why not). */
  const launchBackend = async (env: Record<string, string>) => {
    const backend = spawnBackend(env);
    const output = captureOutput(backend, opts.inheritOutput ?? false);
    return { backend, output, listening: await untilListening(backend, output) };
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
      const env = backendEnv(id, port, secret, edge_jwks, comfyUrl, comfyBaseDir);
      const { backend, output, listening } = await launchBackend(env);
      if (listening === "listening") return { port, secret, env, backend, output };
      if (listening === "port-taken" && attempt < PORT_ATTEMPTS) continue;
      throw new Error(`gpu-backend ${id} did not start (${listening}):\n${output().slice(-4_000)}`);
    }
  };

  const emulatorArgs = (id: string) => [...(opts.emulatorArgs ?? []), ...(opts.emulatorArgsFor?.(id) ?? [])];
  const startEmulator = async (id: string, baseDir: string, port?: number) => {
    const args = port === undefined ? emulatorArgs(id) : ["--port", String(port), ...emulatorArgs(id)];
    const emulator = await startEmulatorProcess(args, { echo: opts.inheritOutput ?? false, extraModels: opts.extraModels ?? [], baseDir });
    emulators.add(emulator);
    return emulator;
  };

  try {
    for (let i = 0; i < opts.hosts; i++) {
      const id = `gpu-${i + 1}`;
      // The stack owns each host's folders, so they outlive an emulator that crashed and is restarted.
      const baseDir = mkdtempSync(join(tmpdir(), "comfyui-emulator-"));
      baseDirs.push(baseDir);
      const first = await startEmulator(id, baseDir);
      let proxy: TcpForwarder | undefined;
      if (opts.comfyProxy) {
        proxy = await startTcpForwarder();
        proxy.target(first.port);
        proxies.push(proxy);
      }
      const comfyUrl = proxy ? `http://127.0.0.1:${proxy.port}` : first.url;
      const started = await startBackend(id, comfyUrl, baseDir);
      let env = started.env;
      const logs: (() => string)[] = [started.output];
      const host: StackHost = {
        id,
        port: started.port,
        emulatorPort: first.port,
        secret: started.secret,
        backend: started.backend,
        emulator: first,
        signalBackend: (signal) => groupKill(host.backend, signal),
        backendLogs: () => logs.map((l) => l()).join(""),
        backendExited: () => exited(host.backend),
        restartBackend: async () => {
          await exited(host.backend);
          for (let attempt = 1; ; attempt++) {
            const again = await launchBackend(env);
            logs.push(again.output);
            host.backend = again.backend;
            if (again.listening === "listening") return;
            // The port a killed backend held can take a moment to be free again.
            if (again.listening === "port-taken" && attempt < PORT_ATTEMPTS) {
              await new Promise((r) => setTimeout(r, 500));
              continue;
            }
            throw new Error(`gpu-backend ${id} did not restart (${again.listening}):\n${again.output().slice(-4_000)}`);
          }
        },
        crashEmulator: async () => {
          const child = host.emulator.child;
          groupKill(child, "SIGKILL");
          await exited(child);
          emulators.delete(host.emulator);
        },
        restartEmulator: async () => {
          host.emulator = await startEmulator(id, baseDir, host.emulatorPort);
        },
        cutComfy: (firstBytes) => proxy?.cut(firstBytes) ?? 0,
        reinstate: async () => {
          groupKill(host.backend, "SIGTERM");
          await Promise.race([exited(host.backend), new Promise((r) => setTimeout(r, 10_000))]);
          groupKill(host.backend, "SIGKILL");
          await exited(host.backend);
          const fresh = await startBackend(id, comfyUrl, baseDir);
          logs.push(fresh.output);
          Object.assign(host, { port: fresh.port, secret: fresh.secret, backend: fresh.backend });
          env = fresh.env;
        },
      };
      hosts.push(host);
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
