/**
 * `startEmulator(options)`: one emulated ComfyUI process in-process — HTTP routes, the
 * WebSocket hub, the prompt worker — with start-up delay, crash and clean shutdown.
 *
 * Start-up delay: ComfyUI loads every node before it binds its port, so during the delay
 * nothing listens (clients get ECONNREFUSED). With `port: 0` the emulator first asks the OS for
 * a free port, releases it and binds it again when the delay is over.
 * Crash: the "process" dies — listening socket closed, every HTTP and WebSocket connection
 * dropped without a close frame, no further events or history — and `crashed` resolves with
 * the exit code (the CLI then really exits with it).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type EmulatorConfig, type EmulatorConfigInput, emulatorConfigSchema } from "./config.ts";
import { cleanupDirs, prepareDirs, type WorkDirs } from "./dirs.ts";
import { HttpError, readBody, SERVER_HEADER, sendEmpty, sendText } from "./http.ts";
import { InterruptFlag } from "./interrupt.ts";
import { Lifecycle } from "./lifecycle.ts";
import { corsHeaders, originMismatch } from "./middleware.ts";
import type { MemoryStats } from "./models/memory.ts";
import { createModelStore } from "./models/store.ts";
import { createCatalog } from "./nodes/catalog.ts";
import { PromptQueue } from "./queue.ts";
import { Router } from "./router.ts";
import { addFileRoutes } from "./routes/file-routes.ts";
import { addInfoRoutes, serverFeatures } from "./routes/info-routes.ts";
import { addQueueRoutes } from "./routes/queue-routes.ts";
import { queueInfo, type Runtime } from "./runtime.ts";
import { runPromptWorker } from "./worker.ts";
import { WsHub } from "./ws.ts";

export interface StartOptions extends EmulatorConfigInput {
  /** Called once when the emulated process crashes (CrashEmu, `crashAtNode`). */
  onCrash?: (exitCode: number) => void;
  /** Receives ComfyUI-like log lines; defaults to stdout when `verbose`, else nothing. */
  log?: (line: string) => void;
}

export interface EmulatorHandle {
  /** `http://host:port` (the port is known at once, even during a start-up delay). */
  url: string;
  /** `ws://host:port/ws` — append `?clientId=…`. */
  wsUrl: string;
  host: string;
  port: number;
  config: EmulatorConfig;
  dirs: WorkDirs;
  /** Resolves when the port is bound (immediately without a start-up delay). */
  ready: Promise<void>;
  /** Resolves with the exit code if the emulated process crashes. */
  crashed: Promise<number>;
  /** Open WebSocket connections, as the server sees them (tests wait on it instead of sleeping). */
  wsConnections(): number;
  /** Lets every GateEmu node named `name` finish, now and later (tests end a job when they choose). */
  openGate(name: string): void;
  /** The emulated VRAM: budget, resident models, and every load and eviction so far (tests assert on these, never on durations). */
  modelMemory(): MemoryStats;
  /** Stops everything, closes connections, wipes the temp dir (and the base dir it created). */
  close(): Promise<void>;
}

export async function startEmulator(options: StartOptions = {}): Promise<EmulatorHandle> {
  const { onCrash, log, ...configInput } = options;
  const config = emulatorConfigSchema.parse(configInput);
  const logLine = log ?? (config.verbose ? (line: string) => console.log(line) : () => {});
  const dirs = prepareDirs(config);
  const lifecycle = new Lifecycle();
  let models: ReturnType<typeof createModelStore>;
  try {
    models = createModelStore(config, dirs, lifecycle, logLine);
  } catch (err) {
    // A broken extra_model_paths.yaml stops ComfyUI before it binds; nothing is left behind.
    cleanupDirs(dirs);
    throw err;
  }

  // The runtime's parts refer to each other (the queue broadcasts through the hub, the hub
  // reads the queue), so it is assembled in two steps.
  const rt = { config, dirs, lifecycle, log: logLine } as Runtime;
  rt.catalog = createCatalog();
  rt.models = models;
  rt.interrupt = new InterruptFlag();
  rt.session = { clientId: null, lastNodeId: null, lastPromptId: null };
  rt.counters = { number: 0, nodesStarted: 0 };
  rt.boundPort = 0;
  rt.openGates = new Set();
  rt.queue = new PromptQueue(() => rt.hub.send("status", { status: queueInfo(rt) }, null));
  rt.hub = new WsHub({
    queueInfo: () => queueInfo(rt),
    runningNodeOf: (sid) => (rt.session.clientId === sid ? rt.session.lastNodeId : null),
    serverFeatures: () => serverFeatures(rt),
  });

  const router = new Router();
  addQueueRoutes(router);
  addFileRoutes(router);
  addInfoRoutes(router);
  router.add("GET", "/ws", (ctx) => sendText(ctx.res, 400, '400: Bad Request\n\nNo WebSocket UPGRADE hdr: None\n Can "Upgrade" only to "WebSocket".'));

  const server = createServer((req, res) => void handleRequest(rt, router, req, res));
  server.on("upgrade", (req, socket, head) => handleUpgrade(rt, req, socket, head));
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const worker = runPromptWorker(rt).catch((err: unknown) => {
    logLine(`prompt worker failed: ${(err as Error).stack ?? String(err)}`);
  });

  let resolveCrashed: (code: number) => void = () => {};
  const crashed = new Promise<number>((resolve) => (resolveCrashed = resolve));
  lifecycle.onCrash((code) => {
    logLine(`emulated crash (exit code ${code})`);
    rt.hub.terminateAll();
    server.close();
    for (const socket of sockets) socket.destroy();
    resolveCrashed(code);
    onCrash?.(code);
  });

  const port = config.startupDelayMs > 0 && config.port === 0 ? await findFreePort(config.host) : config.port;
  rt.boundPort = port;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      if (lifecycle.stopped) return resolve();
      server.once("error", reject);
      server.listen(port, config.host, () => {
        server.off("error", reject);
        const address = server.address();
        rt.boundPort = typeof address === "object" && address ? address.port : port;
        logLine(`To see the GUI go to: http://${config.host}:${rt.boundPort}`);
        resolve();
      });
    });
  // A failed bind (port in use) leaves nothing running and no temp dirs behind.
  const abandon = async (err: unknown): Promise<never> => {
    lifecycle.stop("bind failed");
    await worker;
    cleanupDirs(dirs);
    throw err;
  };
  let ready: Promise<void>;
  if (config.startupDelayMs > 0) {
    ready = lifecycle.sleep(config.startupDelayMs).then(
      () => listen().catch(abandon),
      () => undefined,
    );
    ready.catch(() => {}); // the caller sees the rejection through `ready`; this only keeps it from being "unhandled"
  } else {
    await listen().catch(abandon);
    ready = Promise.resolve();
  }
  const hostForUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${rt.boundPort}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      lifecycle.stop();
      rt.hub.closeAll();
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const socket of sockets) socket.destroy();
      await worker;
      cleanupDirs(dirs);
    })());

  return {
    url,
    wsUrl: `ws://${hostForUrl}:${rt.boundPort}/ws`,
    host: config.host,
    port: rt.boundPort,
    config,
    dirs,
    ready,
    crashed,
    wsConnections: () => rt.hub.connections,
    openGate: (name) => void rt.openGates.add(name),
    modelMemory: () => rt.models.memory.stats(),
    close,
  };
}

async function handleRequest(rt: Runtime, router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader("Server", SERVER_HEADER);
  try {
    if (rt.config.enableCorsHeader !== undefined) {
      for (const [name, value] of Object.entries(corsHeaders(rt.config.enableCorsHeader))) res.setHeader(name, value);
      if (req.method === "OPTIONS") return sendEmpty(res);
    } else {
      if (originMismatch(req)) return sendEmpty(res, 403);
      if (req.method === "OPTIONS") return sendEmpty(res);
    }
    const url = new URL(req.url ?? "/", "http://emulator.invalid");
    const match = router.match(req.method ?? "GET", url.pathname);
    if ("status" in match) {
      if (match.status === 405) return sendText(res, 405, "405: Method Not Allowed", { Allow: match.allow.join(",") });
      return sendText(res, 404, "404: Not Found");
    }
    const limit = Math.round(rt.config.maxUploadSizeMb * 1024 * 1024);
    await match.handler({ req, res, url, params: match.params, rt, body: () => readBody(req, limit) });
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) {
      sendText(res, err.status, err.text);
      if (err.status === 413) req.resume();
      return;
    }
    rt.log(`unhandled error: ${(err as Error).stack ?? String(err)}`);
    sendText(res, 500, "500 Internal Server Error\n\nServer got itself in trouble");
  }
}

function handleUpgrade(rt: Runtime, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const url = new URL(req.url ?? "/", "http://emulator.invalid");
  const reject = (status: number, reason: string) => {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  };
  if (url.pathname !== "/ws" && url.pathname !== "/api/ws") return reject(404, "Not Found");
  if (rt.config.enableCorsHeader === undefined && originMismatch(req)) return reject(403, "Forbidden");
  rt.hub.handleUpgrade(req, socket, head, url.searchParams.get("clientId") ?? "");
}

function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
