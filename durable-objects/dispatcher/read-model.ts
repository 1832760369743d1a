/**
 * What the admin API and `/health` read of a pool: its hosts (live, draining, lock, load) and its
 * queue. Pure reads of the Dispatcher's tables, apart from the code that changes them.
 */
import type { Config } from "../../src/config/schema.ts";
import { freeSlots, isLive, lockAccepted } from "../../src/dispatch/policy.ts";
import type { HostStatus, PoolStatus } from "../../src/dispatch/types.ts";
import type { DispatcherStore, HostRow } from "./store.ts";

type ReadConfig = Pick<Config, "HOST_HEARTBEAT_TIMEOUT_SECONDS" | "EXPECTED_LOCK_HASH">;

export function hostStatus(store: DispatcherStore, h: HostRow, now: number, cfg: ReadConfig): HostStatus {
  return {
    id: h.id,
    url: h.url,
    slots: h.slots,
    capacity: h.capacity,
    assigned: store.assignmentsOf(h.id).length,
    gpu_held: store.gpuHeld(h.id),
    // A host whose ComfyUI is down runs nothing, however recently it was heard from.
    live: isLive(h, { now, heartbeatTimeoutMs: cfg.HOST_HEARTBEAT_TIMEOUT_SECONDS * 1000 }) && h.comfy !== "down",
    draining: h.draining === 1,
    comfy: h.comfy,
    lock_hash: h.lock_hash,
    lock_ok: lockAccepted(h, cfg.EXPECTED_LOCK_HASH),
    version: h.version,
    last_heartbeat_at: h.last_heartbeat_at,
  };
}

export function poolStatus(store: DispatcherStore, now: number, cfg: ReadConfig): PoolStatus {
  const hosts = store.hosts().map((h) => hostStatus(store, h, now, cfg));
  const { depth, oldest } = store.queueDepth();
  const usable = hosts.filter((h) => h.live && !h.draining && h.lock_ok && h.comfy === "ready");
  return {
    hosts,
    live_hosts: usable.length,
    free_slots: usable.reduce((n, h) => n + freeSlots(h, h.gpu_held), 0),
    queue_depth: depth,
    oldest_queued_at: oldest,
    running: store.assignedCount(),
  };
}
