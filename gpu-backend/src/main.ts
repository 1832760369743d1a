/**
 * Process entry: `node gpu-backend/src/main.ts` (or `npm start -w gpu-backend`). Trades a
 * BOOTSTRAP_TOKEN for the host's credentials when it was launched with one, parses the
 * environment (exit 78, EX_CONFIG, with every problem listed and no value echoed, when it is
 * invalid), verifies the lock file, starts the service, and on SIGTERM/SIGINT drains — no new
 * jobs, running ones finish or are handed back within DRAIN_GRACE_MS — then exits 0. A second
 * signal during the drain exits at once with 1 (unfinished jobs come back through lease expiry).
 */
import { StartupError, startService } from "./app.ts";
import { bootstrapEnv } from "./bootstrap.ts";
import { loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";

const EX_CONFIG = 78;

// A launched host holds a one-time token instead of its secret: trade it first (bootstrap.ts).
const booted = await bootstrapEnv(process.env, { log: createLogger(process.env.LOG_LEVEL === "debug" ? "debug" : "info") });
if (!booted.ok) {
  process.stderr.write(`gpu-backend: bootstrap failed: ${booted.problem}\n`);
  process.exit(EX_CONFIG);
}

const loaded = loadConfig(process.env);
if (!loaded.ok) {
  process.stderr.write(`gpu-backend: invalid configuration (see docs/gpu-backend-config.md):\n  - ${loaded.problems.join("\n  - ")}\n`);
  process.exit(EX_CONFIG);
}
const log = createLogger(loaded.config.logLevel);
process.on("unhandledRejection", (err) => log.error("unhandled_rejection", { error: err as Error, stack: (err as Error)?.stack }));

let service;
try {
  service = await startService(loaded.config, { log, defaultMetrics: true });
} catch (err) {
  if (err instanceof StartupError) {
    process.stderr.write(`gpu-backend: refusing to start: ${err.message}\n`);
    process.exit(EX_CONFIG);
  }
  throw err;
}

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) {
      // A second signal: the operator does not want to wait for the drain.
      log.warn("forced_exit", { signal });
      process.exit(1);
    }
    stopping = true;
    log.info("signal", { signal });
    void service
      .drain()
      .then(() => service.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error("shutdown_failed", { error: err as Error });
          process.exit(1);
        },
      );
  });
}
