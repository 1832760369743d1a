// The local GPU provider: what the autoscaler launches on a developer's machine instead of a cloud
// pod. Each instance is a ComfyUI emulator and a gpu-backend, as processes, started after a boot
// delay (a cloud pod's image pull and start) with the environment the autoscaler gave it (EDGE_URL,
// HOST_ID, BOOTSTRAP_TOKEN: the host trades its token for its secret, as on RunPod). Served over
// loopback with a bearer token (src/capacity/local-api.ts); `npm run dev -- --autoscale`, the
// end-to-end tests and the benchmarks run it. Tests also drive faults from here: an instance that
// never becomes ready, and one that disappears behind the autoscaler's back.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LOCAL_PROVIDER_PATHS, type LocalInstance, LocalLaunchRequest } from "../../src/capacity/local-api.ts";
import { spawnBackend } from "./backend-process.ts";
import type { DevModel } from "./dev-models.ts";
import { type EmulatorProcess, startEmulatorProcess } from "./emulator-process.ts";
import { captureOutput, freePort } from "./wrangler-dev.ts";

export interface LocalProviderOptions {
  /** From launch to the processes' start, like a pod's image pull (default 0). */
  bootDelayMs?: number;
  emulatorArgs?: string[];
  extraModels?: readonly DevModel[];
  /** Extra gpu-backend environment (e.g. a fast heartbeat). */
  backendEnv?: Record<string, string>;
  inheritOutput?: boolean;
}

interface Instance {
  id: string;
  name: string;
  url: string;
  port: number;
  env: Record<string, string>;
  state: LocalInstance["state"];
  /** Boot scheduled but not started yet. */
  timer: ReturnType<typeof setTimeout> | null;
  emulator: EmulatorProcess | null;
  backend: ChildProcess | null;
  output: () => string;
  /** A fault: it never starts its processes. */
  stuck: boolean;
}

export interface LocalProviderDaemon {
  url: string;
  token: string;
  /** The next `count` launches never become ready (their processes never start). */
  stickNextBoots(count: number): void;
  /** The next `count` launch requests are refused with 503, as a provider out of capacity would. */
  failNextLaunches(count: number): void;
  /** Ends an instance behind the autoscaler's back: its processes die and the provider forgets it. */
  vanish(id: string): Promise<void>;
  instances(): { id: string; name: string; state: string; url: string; stuck: boolean }[];
  /** Every launch request received, in order (names only). */
  launches(): string[];
  logs(id: string): string;
  stop(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function groupKill(child: ChildProcess | null, signal: NodeJS.Signals): void {
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) {
    text += (chunk as Buffer).toString();
    if (text.length > MAX_BODY) throw new Error("body too large");
  }
  return text;
}

export async function startLocalProvider(opts: LocalProviderOptions = {}): Promise<LocalProviderDaemon> {
  const token = randomBytes(24).toString("hex");
  const instances = new Map<string, Instance>();
  const launched: string[] = [];
  let stickCount = 0;
  let failCount = 0;
  let stopping = false;

  const boot = async (inst: Instance) => {
    inst.timer = null;
    if (stopping || !instances.has(inst.id)) return;
    const emulator = await startEmulatorProcess(opts.emulatorArgs ?? [], { echo: opts.inheritOutput ?? false, extraModels: opts.extraModels ?? [] });
    if (!instances.has(inst.id) || stopping) {
      await emulator.stop();
      return;
    }
    inst.emulator = emulator;
    const backend = spawnBackend({
      HEARTBEAT_INTERVAL_MS: "1000",
      ...opts.backendEnv,
      ...inst.env,
      PORT: String(inst.port),
      LISTEN_HOST: "127.0.0.1",
      COMFY_URL: emulator.url,
      COMFY_BASE_DIR: emulator.baseDir,
    });
    inst.backend = backend;
    inst.output = captureOutput(backend, opts.inheritOutput ?? false);
    inst.state = "running";
    // A process that dies on its own is an instance that stopped (the provider still lists it).
    backend.once("exit", () => {
      if (instances.get(inst.id) === inst) inst.state = "stopped";
    });
  };

  const end = async (inst: Instance) => {
    instances.delete(inst.id);
    if (inst.timer) clearTimeout(inst.timer);
    groupKill(inst.backend, "SIGKILL");
    await inst.emulator?.stop();
  };

  const view = (i: Instance): LocalInstance => ({ id: i.id, name: i.name, state: i.state, url: i.url });

  const send = (res: ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { "Content-Type": "application/json" }).end(body === undefined ? undefined : JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: "bad token" });
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (req.method === "GET" && path === LOCAL_PROVIDER_PATHS.instances) return send(res, 200, { data: [...instances.values()].map(view) });
    if (req.method === "POST" && path === LOCAL_PROVIDER_PATHS.instances) {
      if (failCount > 0) {
        failCount--;
        launched.push("(refused)");
        return send(res, 503, { error: "no capacity right now" });
      }
      let parsed: ReturnType<typeof LocalLaunchRequest.safeParse>;
      try {
        parsed = LocalLaunchRequest.safeParse(JSON.parse(await readBody(req)));
      } catch {
        return send(res, 400, { error: "not JSON" });
      }
      if (!parsed.success) return send(res, 400, { error: parsed.error.message.slice(0, 500) });
      const port = await freePort();
      const inst: Instance = {
        id: `lp-${randomBytes(6).toString("hex")}`,
        name: parsed.data.name,
        url: `http://127.0.0.1:${port}`,
        port,
        env: parsed.data.env,
        state: "starting",
        timer: null,
        emulator: null,
        backend: null,
        output: () => "",
        stuck: stickCount > 0,
      };
      if (inst.stuck) stickCount--;
      instances.set(inst.id, inst);
      launched.push(inst.name);
      if (!inst.stuck) inst.timer = setTimeout(() => void boot(inst).catch(() => (inst.state = "stopped")), opts.bootDelayMs ?? 0);
      return send(res, 201, view(inst));
    }
    const m = /^\/v1\/instances\/([^/]+)$/.exec(path);
    if (req.method === "DELETE" && m) {
      const inst = instances.get(decodeURIComponent(m[1]!));
      if (!inst) return send(res, 404, { error: "no such instance" });
      await end(inst);
      return send(res, 204);
    }
    return send(res, 404, { error: "no such route" });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    stickNextBoots: (count) => {
      stickCount += count;
    },
    failNextLaunches: (count) => {
      failCount += count;
    },
    vanish: async (id) => {
      const inst = instances.get(id);
      if (inst) await end(inst);
    },
    instances: () => [...instances.values()].map((i) => ({ id: i.id, name: i.name, state: i.state, url: i.url, stuck: i.stuck })),
    launches: () => [...launched],
    logs: (id) => instances.get(id)?.output() ?? "",
    stop: async () => {
      stopping = true;
      await Promise.all([...instances.values()].map(end));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
