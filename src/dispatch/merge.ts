/**
 * Pool-wide answers of a pool's Dispatcher shards merged into what one Dispatcher would say
 * (src/dispatch/route.ts asks them). Pure: a host is in exactly one shard, so lists just join.
 */
import type { PoolCatalog, PoolStatus } from "./types.ts";

/** The pool's status as one Dispatcher would say it: hosts and counts summed, the oldest queued job the oldest of all. */
export function mergeStatus(parts: readonly PoolStatus[]): PoolStatus {
  if (parts.length === 1) return parts[0]!;
  const oldest = parts.map((p) => p.oldest_queued_at).filter((t): t is number => t !== null);
  return {
    hosts: parts.flatMap((p) => p.hosts).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    live_hosts: parts.reduce((n, p) => n + p.live_hosts, 0),
    free_slots: parts.reduce((n, p) => n + p.free_slots, 0),
    queue_depth: parts.reduce((n, p) => n + p.queue_depth, 0),
    oldest_queued_at: oldest.length === 0 ? null : Math.min(...oldest),
    running: parts.reduce((n, p) => n + p.running, 0),
  };
}

/** The union of the shards' catalogs: a host is in exactly one shard, so the host lists just join. */
export function mergeCatalogs(parts: readonly PoolCatalog[]): PoolCatalog {
  if (parts.length === 1) return parts[0]!;
  // Maps, not object keys: names come from hosts ("__proto__" is a valid class name to them).
  const classes = new Map<string, string[]>();
  const models = new Map<string, Map<string, string[]>>();
  const join = (m: Map<string, string[]>, k: string, ids: readonly string[]) => m.set(k, [...(m.get(k) ?? []), ...ids]);
  for (const p of parts) {
    for (const [c, ids] of Object.entries(p.classes)) join(classes, c, ids);
    for (const [folder, files] of Object.entries(p.models)) {
      const into = models.get(folder) ?? new Map<string, string[]>();
      models.set(folder, into);
      for (const [name, ids] of Object.entries(files)) join(into, name, ids);
    }
  }
  const hosts = parts.flatMap((p) => p.hosts);
  return {
    hosts,
    hosts_without_catalog: parts.flatMap((p) => p.hosts_without_catalog),
    catalogs: new Set(hosts.map((h) => h.catalog_hash)).size,
    classes: Object.fromEntries(classes),
    models: Object.fromEntries([...models].map(([folder, files]) => [folder, Object.fromEntries(files)])),
  };
}
