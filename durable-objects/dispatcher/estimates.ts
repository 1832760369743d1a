/**
 * The Dispatcher's start and finish estimates (issue 15): its tables turned into the timelines
 * src/dispatch/estimate.ts plays forward. Synchronous reads, like every decision of the Dispatcher.
 */
import { type Estimate, estimateQueue, type HostTimeline } from "../../src/dispatch/estimate.ts";
import { canRun, type JobNeeds } from "../../src/dispatch/placement.ts";
import { freeSlots, isDispatchable, type LivenessRules } from "../../src/dispatch/policy.ts";
import type { PlacementCache } from "./place.ts";
import type { DispatcherStore } from "./store.ts";

export interface PoolEstimates {
  /** Index k: the job at queue position k (k jobs ahead of it). */
  queued: Estimate[];
  /** Per held job, ms until it ends. */
  finishOf(jobId: string): number | undefined;
}

/**
 * Estimates over the dispatchable hosts that can run `needs` (all of them when absent), for the
 * first `count` queue positions. Undefined when no such host is up; without history only the jobs
 * free slots take at once have one.
 */
export function poolEstimates(store: DispatcherStore, cache: PlacementCache, rules: LivenessRules, count: number, needs?: JobNeeds): PoolEstimates | undefined {
  const service = store.mean("service_ms");
  const tail = store.mean("tail_ms") ?? 0;
  const hosts = store.hostLoads().filter((h) => isDispatchable(h, rules) && (!needs || canRun(needs, cache.offerOf(store, h))));
  if (hosts.length === 0) return undefined;
  const held = store.heldElapsed(rules.now);
  const timelines: HostTimeline[] = hosts.map((h) => ({ slots: h.slots, dispatchSlots: freeSlots(h, 0), heldElapsedMs: held.get(h.id) ?? [] }));
  const result = estimateQueue(timelines, service, tail, count);
  if (!result) return undefined;
  const finish = new Map<string, number>();
  hosts.forEach((h, i) => {
    const ids = store.heldJobIds(h.id);
    ids.forEach((id, k) => {
      const ms = result.held[i]?.[k];
      if (ms !== undefined) finish.set(id, ms);
    });
  });
  return { queued: result.queued, finishOf: (id) => finish.get(id) };
}

/** Jobs queued ahead of a new job with these needs that the hosts able to run it could run too. */
export function aheadOf(store: DispatcherStore, cache: PlacementCache, rules: LivenessRules, needs: JobNeeds): number {
  const eligible = store.hostLoads().filter((h) => isDispatchable(h, rules) && canRun(needs, cache.offerOf(store, h)));
  let ahead = 0;
  for (const q of store.queuedNeeds()) {
    const n = cache.needsOf(store, q.needs_id);
    if (eligible.some((h) => canRun(n, cache.offerOf(store, h)))) ahead += q.n;
  }
  return ahead;
}

export const seconds = (ms: number | undefined): number | null => (ms === undefined ? null : Math.ceil(ms / 1000));
