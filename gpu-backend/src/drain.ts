/**
 * Drain (SIGTERM): stop taking jobs, tell the edge at once, hand back everything that has not
 * started executing (so another host can start it now), give running jobs DRAIN_GRACE_MS to
 * finish and report, then interrupt and hand back the rest (`host_draining`, retryable). The
 * caller then stops the server and exits 0.
 */
import type { HeartbeatLoop } from "./heartbeat.ts";
import type { JobManager } from "./jobs/manager.ts";
import type { Logger } from "./log.ts";

/** After the grace period, how long hand-backs may take to be confirmed and reported. */
export const HANDBACK_WAIT_MS = 10_000;

export type DrainResult = { finished: "all_done" | "handed_back" | "gave_up"; ms: number };

export async function drain(opts: { manager: JobManager; heartbeat: HeartbeatLoop; graceMs: number; log: Logger }): Promise<DrainResult> {
  const { manager, heartbeat, graceMs, log } = opts;
  const started = Date.now();
  manager.draining = true;
  log.info("drain_started", { held: manager.held, grace_ms: graceMs });
  void heartbeat.beat();
  await manager.handBackUnstarted();
  let finished: DrainResult["finished"] = "all_done";
  if (!(await manager.waitIdle(Math.max(0, graceMs - (Date.now() - started))))) {
    log.warn("drain_grace_over", { held: manager.held });
    manager.handBackAll();
    finished = (await manager.waitIdle(HANDBACK_WAIT_MS)) ? "handed_back" : "gave_up";
  }
  await heartbeat.beat();
  const result = { finished, ms: Date.now() - started };
  log.info("drain_finished", result);
  return result;
}
