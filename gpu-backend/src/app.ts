/**
 * Wires one gpu-backend service together and starts it: lock check, ComfyUI client + WebSocket
 * follower + link (+ optional supervisor), prompt tracker, edge client, job manager, heartbeat
 * and the signed host API. `main.ts` calls it with the parsed environment; tests call it
 * in-process with their own config and ports.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { mergeFileInputs } from "../../src/protocol/node-policy.ts";
import { CatalogPublisher } from "./catalog.ts";
import { ComfyClient } from "./comfy/client.ts";
import { checkInputFolder } from "./comfy/folders.ts";
import { WsFollower } from "./comfy/follower.ts";
import { type ComfyCatalog, ComfyLink } from "./comfy/link.ts";
import { clearOrphans, clientIdPrefix } from "./comfy/orphans.ts";
import { PromptTracker } from "./comfy/prompt-tracker.ts";
import type { Config } from "./config.ts";
import { type DrainResult, drain } from "./drain.ts";
import { EdgeClient } from "./edge/client.ts";
import { PinnedEdgeKeys } from "./edge/pinned-keys.ts";
import { HeartbeatLoop } from "./heartbeat.ts";
import { JobManager } from "./jobs/manager.ts";
import { JobModels } from "./jobs/models.ts";
import type { WorkflowRules } from "./jobs/policy.ts";
import type { RunnerDeps } from "./jobs/runner.ts";
import { Sweeper, type SweepResult } from "./jobs/sweeper.ts";
import { allowedNodeClasses, loadLock, verifyOnDisk } from "./locks.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { createHostServer } from "./server.ts";
import { Supervisor } from "./supervisor.ts";

export const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Start-up refused (bad lock file, checkout differing from it). */
export class StartupError extends Error {
  readonly problems: string[];
  constructor(message: string, problems: string[]) {
    super(`${message}:\n  - ${problems.join("\n  - ")}`);
    this.name = "StartupError";
    this.problems = problems;
  }
}

export interface ServiceOptions {
  log?: Logger;
  /** Environment of a supervised ComfyUI (default: this process's). */
  comfyEnv?: NodeJS.ProcessEnv;
  defaultMetrics?: boolean;
}

export interface ServiceHandle {
  url: string;
  port: number;
  lockHash: string;
  clientId: string;
  manager: JobManager;
  link: ComfyLink;
  metrics: Metrics;
  heartbeat: HeartbeatLoop;
  /** The catalog publisher: `check()` publishes now if the catalog changed. */
  catalog: CatalogPublisher;
  supervisor: Supervisor | undefined;
  /** One sweep of leftovers in ComfyUI's folders now (it also runs at start and every SWEEP_INTERVAL_MS). */
  sweep(now?: number): Promise<SweepResult>;
  drain(): Promise<DrainResult>;
  /** Stops everything at once; held jobs are dropped without a report (tests, fatal errors). */
  close(): Promise<void>;
}

export async function startService(cfg: Config, opts: ServiceOptions = {}): Promise<ServiceHandle> {
  const log = opts.log ?? createLogger(cfg.logLevel);
  const lock = loadLock(cfg.lockFile);
  if (!lock.ok) throw new StartupError(`lock file ${cfg.lockFile} is invalid`, lock.problems);
  if (cfg.comfyDir) {
    const problems = await verifyOnDisk(lock.lock, cfg.comfyDir, cfg.lockVerifyModels);
    if (problems.length > 0) throw new StartupError(`${cfg.comfyDir} does not match the lock file`, problems);
  }
  const allowed = allowedNodeClasses(lock.lock);
  if (!allowed.ok) throw new StartupError(`lock file ${cfg.lockFile} does not say which node classes may run`, [allowed.problem]);
  log.info("lock_verified", {
    lock_file: cfg.lockFile,
    lock_hash: lock.hash,
    target: lock.lock.target,
    on_disk: Boolean(cfg.comfyDir),
    allowed_node_classes: allowed.classes.size,
    allowed_from: allowed.source,
  });

  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics ?? false });
  metrics.capacity.set(cfg.slots + cfg.prefetch);
  const comfy = new ComfyClient(cfg.comfyUrl, cfg.comfyRequestTimeoutMs);
  const clientId = `${clientIdPrefix(cfg.hostId)}${randomBytes(4).toString("hex")}`;

  let link: ComfyLink | undefined;
  let catalog: CatalogPublisher | undefined;
  let supervisor: Supervisor | undefined;
  const tracker = new PromptTracker({ client: comfy, log, pollMs: cfg.historyPollMs, stuckTimeoutMs: cfg.stuckTimeoutMs, onStuck: () => link!.reconnect() });
  const follower = new WsFollower(
    comfy.wsUrl,
    clientId,
    { message: (m, connection) => tracker.handleMessage(m, connection), preview: (p) => tracker.handlePreview(p) },
    log,
  );
  link = new ComfyLink({
    client: comfy,
    follower,
    log,
    lostTimeoutMs: cfg.comfyLostTimeoutMs,
    requestTimeoutMs: cfg.comfyRequestTimeoutMs,
    verify: () => checkInputFolder(comfy, cfg.comfyDirs.input),
    hooks: {
      // First contact: clear what an earlier process left behind. After a reconnect or a
      // recovery, events may have been missed: re-check every prompt.
      onReady: (kind) => {
        void (kind === "first" ? clearOrphans(comfy, cfg.hostId, clientId, log) : tracker.checkNow());
        // ComfyUI may have restarted with other nodes or models: publish the catalog if it changed.
        void catalog?.check();
      },
      onLost: (reason) => {
        tracker.failAll(reason);
        if (reason === "unreachable") supervisor?.kill("unreachable for COMFY_LOST_TIMEOUT_MS");
      },
      onStateChange: (state) => metrics.comfyUp.set(state === "ready" ? 1 : 0),
    },
  });
  if (cfg.comfyCommand) {
    supervisor = new Supervisor({
      command: cfg.comfyCommand,
      args: cfg.comfyArgs,
      cwd: cfg.comfyCwd ?? cfg.comfyDir,
      ...(opts.comfyEnv ? { env: opts.comfyEnv } : {}),
      startTimeoutMs: cfg.comfyStartTimeoutMs,
      backoffMs: cfg.comfyRestartBackoffMs,
      backoffMaxMs: cfg.comfyRestartBackoffMaxMs,
      log,
      onExit: (reason) => link!.markLost(`ComfyUI process ${reason}`),
      onRestart: () => metrics.comfyRestarts.inc(),
      isReady: () => link!.state === "ready",
    });
  }

  const edge = new EdgeClient(cfg, log, (kind, result) => metrics.edgeRequests.inc({ kind, result }));
  // The policy's rules follow the ComfyUI connected: its upload inputs and API nodes come from
  // its /object_info, re-read on every (re)start.
  let rules: { catalog: ComfyCatalog; rules: WorkflowRules } | undefined;
  const currentRules = (): WorkflowRules => {
    const catalog = link!.catalog;
    if (rules?.catalog !== catalog) {
      rules = {
        catalog,
        rules: {
          fileInputs: mergeFileInputs(cfg.fileInputs, catalog.uploadInputs),
          denied: cfg.deniedNodeClasses,
          allowed: allowed.classes,
          objectInfo: catalog.modules,
        },
      };
    }
    return rules.rules;
  };
  const machine = hostname();
  const hostNames = [...new Set([machine, machine.split(".")[0]!, cfg.hostId])].filter((n) => n.length >= 3);
  const models = new JobModels({
    cacheDir: cfg.modelCacheDir,
    modelsDir: join(cfg.comfyDirs.base, "models"),
    budgetBytes: cfg.modelCacheBudgetBytes,
    edge,
    log,
    metrics,
    onFetched: () => void catalog?.check(),
  });
  await models.init();
  const deps: RunnerDeps = {
    cfg,
    comfy,
    link,
    rules: currentRules,
    hostNames,
    tracker,
    edge,
    clientId,
    log,
    metrics,
    models,
    onModelsFetched: () => void catalog?.check(),
  };
  const manager = new JobManager(deps, cfg, () => link!.state);
  const sweeper = new Sweeper({ dirs: cfg.comfyDirs, maxAgeMs: cfg.maxJobDeadlineMs, intervalMs: cfg.sweepIntervalMs, held: () => manager.heldFiles(), log });
  catalog = new CatalogPublisher({ hostId: cfg.hostId, comfy, link, edge, modelsDir: join(cfg.comfyDirs.base, "models"), lock: lock.lock, log });
  const edgeKeys = new PinnedEdgeKeys(cfg.edgeJwks, { hostId: cfg.hostId, file: cfg.edgeJwksFile, log });
  const heartbeat = new HeartbeatLoop({
    hostId: cfg.hostId,
    version: VERSION,
    lockHash: lock.hash,
    intervalMs: cfg.heartbeatIntervalMs,
    edge,
    manager,
    link,
    catalog,
    pinned: (refs) => models.pinned(refs),
    edgeKeys,
    log,
  });
  const jobsGauge = setInterval(() => metrics.jobsHeld.set(manager.held), 1_000);
  jobsGauge.unref();

  const server = createHostServer({
    hostId: cfg.hostId,
    jwks: () => edgeKeys.current(),
    maxBodyBytes: cfg.maxDispatchBytes,
    maxJobDeadlineMs: cfg.maxJobDeadlineMs,
    manager,
    metrics,
    log,
    health: () => {
      const slots = manager.view();
      const ok = link!.state === "ready" && !manager.draining;
      const reasons = [
        ...(link!.state !== "ready" ? [`comfy ${link!.state}`] : []),
        ...(link!.problem ? [link!.problem] : []),
        ...(manager.draining ? ["draining"] : []),
      ];
      return {
        ok,
        body: {
          status: ok ? "ok" : "unavailable",
          reasons,
          host_id: cfg.hostId,
          version: VERSION,
          lock_hash: lock.hash,
          comfy: link!.state,
          draining: manager.draining,
          capacity: slots.capacity,
          held: manager.held,
          busy: slots.busy,
          free_slots: slots.free,
          last_heartbeat_ok_at: heartbeat.lastOkAt ?? null,
        },
      };
    },
  });
  // Leftovers of an earlier process go before the first job can arrive.
  await sweeper.sweep();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.port, cfg.listenHost, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = cfg.listenHost.includes(":") ? `[${cfg.listenHost}]` : cfg.listenHost;

  supervisor?.start();
  link.start();
  tracker.start();
  heartbeat.start();
  sweeper.start();
  log.info("service_started", {
    host_id: cfg.hostId,
    url: `http://${host}:${port}`,
    comfy_url: cfg.comfyUrl,
    comfy_dirs: cfg.comfyDirs,
    supervised: Boolean(supervisor),
    capacity: cfg.slots + cfg.prefetch,
    version: VERSION,
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      manager.draining = true;
      for (const run of manager.runs()) run.stop({ kind: "drop", why: "service closed" });
      tracker.failAll("service closed");
      await manager.waitIdle(2_000);
      heartbeat.stop();
      tracker.stop();
      sweeper.stop();
      clearInterval(jobsGauge);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await link.stop();
      await supervisor?.stop();
      log.info("service_stopped");
    })());

  return {
    url: `http://${host}:${port}`,
    port,
    lockHash: lock.hash,
    clientId,
    manager,
    link,
    metrics,
    heartbeat,
    catalog,
    supervisor,
    sweep: (now) => sweeper.sweep(now),
    drain: () => drain({ manager, heartbeat, graceMs: cfg.drainGraceMs, log }),
    close,
  };
}
