/**
 * What the admin API and `/health` read of a pool: its hosts (live, draining, lock, load) and its
 * queue. Pure reads of the Dispatcher's tables, apart from the code that changes them.
 */
import type { Config } from "../../src/config/schema.ts";
import { freeSlots, isLive, lockAccepted } from "../../src/dispatch/policy.ts";
import type { HostStatus, PoolCatalog, PoolStatus } from "../../src/dispatch/types.ts";
import type { CatalogSummary } from "../../src/protocol/catalog.ts";
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
    catalog_hash: h.catalog_hash,
    catalog_known: h.catalog_hash !== null && store.hasCatalog(h.catalog_hash),
    resident_models: parseList(h.resident_models),
    edge_kids: h.edge_kids === null ? null : parseList(h.edge_kids),
  };
}

/** A JSON array of strings as a host row stores it (resident or recent models); anything else is empty. */
export function parseList(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** The union of the live hosts' catalogs: each class and model file with the hosts that have it. */
export function poolCatalog(store: DispatcherStore, now: number, cfg: ReadConfig): PoolCatalog {
  const out: PoolCatalog = { hosts: [], hosts_without_catalog: [], catalogs: 0, classes: {}, models: {} };
  // Maps, not object keys: names come from hosts ("__proto__" is a valid class name to them).
  const classes = new Map<string, string[]>();
  const models = new Map<string, Map<string, string[]>>();
  const add = <K>(m: Map<K, string[]>, k: K, id: string) => {
    const list = m.get(k);
    if (list) list.push(id);
    else m.set(k, [id]);
  };
  const summaries = new Map<string, CatalogSummary | undefined>();
  for (const h of store.hosts()) {
    if (!hostStatus(store, h, now, cfg).live) continue;
    const hash = h.catalog_hash;
    if (hash !== null && !summaries.has(hash)) {
      const text = store.catalogSummary(hash);
      summaries.set(hash, text === undefined ? undefined : (JSON.parse(text) as CatalogSummary));
    }
    const summary = hash === null ? undefined : summaries.get(hash);
    if (hash === null || !summary) {
      out.hosts_without_catalog.push(h.id);
      continue;
    }
    out.hosts.push({ id: h.id, catalog_hash: hash });
    for (const c of summary.classes) add(classes, c, h.id);
    for (const [folder, names] of Object.entries(summary.models)) {
      const files = models.get(folder) ?? new Map<string, string[]>();
      models.set(folder, files);
      for (const n of names) add(files, n, h.id);
    }
  }
  out.classes = Object.fromEntries(classes);
  out.models = Object.fromEntries([...models].map(([folder, files]) => [folder, Object.fromEntries(files)]));
  out.catalogs = new Set(out.hosts.map((h) => h.catalog_hash)).size;
  return out;
}

/** The live hosts whose catalog this object holds, with its hash: what a submit's check reads. */
export function liveCatalogs(store: DispatcherStore, now: number, cfg: ReadConfig): { id: string; catalog_hash: string }[] {
  const out: { id: string; catalog_hash: string }[] = [];
  const known = new Map<string, boolean>();
  for (const h of store.hosts()) {
    const hash = h.catalog_hash;
    if (hash === null || !hostStatus(store, h, now, cfg).live) continue;
    if (!known.has(hash)) known.set(hash, store.catalogSummary(hash) !== undefined);
    if (known.get(hash)) out.push({ id: h.id, catalog_hash: hash });
  }
  return out;
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
