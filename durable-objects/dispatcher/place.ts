/**
 * One placement decision (issue 13.4): which queued job goes to which free host, read from the
 * Dispatcher's tables and decided by src/dispatch/placement.ts and policy.ts. Synchronous, like
 * every decision of the Dispatcher (store.ts).
 *
 * 1. The jobs that count are those some free host can run (its catalog has every node class and
 *    model file the job names); among them the fair-next job is chosen as always (round-robin
 *    across tenants, FIFO within one).
 * 2. It goes to the free host that can run it at the lowest load cost (affinity: its models warm,
 *    else on disk, else to download; placement.ts loadCost), then the one with the most free slots.
 * 3. If that host would load or download models for it, another host that can run it would cost
 *    it less, and
 *    it was passed over fewer than `maxPassOvers` times, the host takes instead the fair-next job
 *    among those it holds more models for, and the first job's pass-over count goes up.
 */
import { bestHost, canRun, type HostOffer, type JobNeeds, loadCost, mayPassOver, NO_NEEDS, offerOf } from "../../src/dispatch/placement.ts";
import { freeHosts, type HostLoad, isDispatchable, type LivenessRules, nextLine } from "../../src/dispatch/policy.ts";
import type { LendOffer } from "../../src/dispatch/types.ts";
import type { CatalogSummary } from "../../src/protocol/catalog.ts";
import { parseList } from "./read-model.ts";
import type { DispatcherStore, HostRow, QueueRow } from "./store.ts";

export interface Placement {
  job: QueueRow;
  needs: JobNeeds;
  host: HostLoad<HostRow>;
  /** The fair-next job the host passed over for this one, if it did. */
  passedOver?: string;
}

/** Parsed needs and catalog offers, kept across decisions (a stored row never changes; see forgetNeeds). */
export class PlacementCache {
  private readonly needs = new Map<number, JobNeeds>();
  private readonly offers = new Map<string, HostOffer>();

  needsOf(store: DispatcherStore, id: number): JobNeeds {
    if (id === 0) return NO_NEEDS;
    let hit = this.needs.get(id);
    if (!hit) {
      const doc = store.needsDoc(id);
      hit = doc === undefined ? NO_NEEDS : (JSON.parse(doc) as JobNeeds);
      if (this.needs.size >= 1024) this.needs.clear();
      this.needs.set(id, hit);
    }
    return hit;
  }

  /**
   * Forgets every parsed needs row: after unused rows were dropped, SQLite may give a dropped id to
   * new needs (an INTEGER PRIMARY KEY takes max(id) + 1), so a cached entry could be another's.
   */
  forgetNeeds(): void {
    this.needs.clear();
  }

  /** undefined: the host published no catalog; "pending": it did, but its summary is not here yet. */
  offerOf(store: DispatcherStore, host: Pick<HostRow, "catalog_hash">): HostOffer | undefined | "pending" {
    const hash = host.catalog_hash;
    if (hash === null) return undefined;
    let hit = this.offers.get(hash);
    if (!hit) {
      const summary = store.catalogSummary(hash);
      if (summary === undefined) return "pending";
      hit = offerOf(JSON.parse(summary) as CatalogSummary);
      if (this.offers.size >= 32) this.offers.clear();
      this.offers.set(hash, hit);
    }
    return hit;
  }
}

/** Models a host holds or will hold: what it reports resident, plus those of the job it got last. */
export function warmModels(host: Pick<HostRow, "resident_models" | "recent_models">): Set<string> {
  const warm = new Set<string>();
  for (const m of parseList(host.resident_models)) warm.add(m.slice(m.indexOf("/") + 1));
  for (const m of parseList(host.recent_models)) warm.add(m);
  return warm;
}

export function placeNext(store: DispatcherStore, cache: PlacementCache, rules: LivenessRules, maxPassOvers: number): Placement | undefined {
  const hosts = store.hostLoads();
  const usable = hosts.filter((h) => isDispatchable(h, rules));
  const free = freeHosts(usable, rules);
  if (free.length === 0) return undefined;
  const queued = store.queuedNeeds();
  if (queued.length === 0) return undefined;

  const offers = new Map(hosts.map((h) => [h.id, cache.offerOf(store, h)]));
  const needsById = new Map(queued.map((q) => [q.needs_id, cache.needsOf(store, q.needs_id)]));
  const runs = (needs: JobNeeds, h: HostRow) => canRun(needs, offers.get(h.id));
  const affinity = maxPassOvers > 0;
  const warm = new Map(usable.map((h) => [h.id, affinity ? warmModels(h) : new Set<string>()]));

  // 1. The fair-next job among those some free host can run.
  const runnable = queued.filter((q) => free.some((f) => runs(needsById.get(q.needs_id)!, f.host))).map((q) => q.needs_id);
  if (runnable.length === 0) return undefined;
  const first = pickJob(store, runnable.length === queued.length ? undefined : runnable);
  if (!first) return undefined;
  const needs = needsById.get(first.needs_id) ?? NO_NEEDS;

  // 2. The host for it.
  const candidates = free
    .filter((f) => runs(needs, f.host))
    .map((f) => ({ id: f.host.id, free: f.free, cost: loadCost(needs, warm.get(f.host.id)!, offers.get(f.host.id)), host: f.host }));
  const target = bestHost(candidates, affinity)!;

  // 3. Model affinity: a warmer job for this host, if the first one has a warmer host to wait for.
  if (affinity) {
    const warmerElsewhere = usable.some((h) => h.id !== target.id && runs(needs, h) && loadCost(needs, warm.get(h.id)!, offers.get(h.id)) < target.cost);
    if (mayPassOver({ costHere: target.cost, passedOver: first.passed_over, maxPassOvers, warmerElsewhere })) {
      const here = warm.get(target.id)!;
      const warmer = queued
        .map((q) => q.needs_id)
        .filter((id) => {
          const n = needsById.get(id)!;
          return runs(n, target.host) && loadCost(n, here, offers.get(target.id)) < target.cost;
        });
      const instead = warmer.length > 0 ? pickJob(store, warmer) : undefined;
      if (instead) return { job: instead, needs: needsById.get(instead.needs_id) ?? NO_NEEDS, host: target.host, passedOver: first.job_id };
    }
  }
  return { job: first, needs, host: target.host };
}

// ===== Stealing between shards of a pool (docs/scale.md)

/**
 * This shard's free hosts as a sibling is told of them when asked to lend work: one offer per
 * distinct catalog with its free slots. A host whose catalog summary is still pending runs nothing,
 * so it offers nothing.
 */
export function freeOffers(store: DispatcherStore, cache: PlacementCache, rules: LivenessRules): LendOffer[] {
  const byCatalog = new Map<string | null, LendOffer>();
  for (const f of freeHosts(store.hostLoads(), rules)) {
    const offer = cache.offerOf(store, f.host);
    if (offer === "pending") continue;
    const same = byCatalog.get(f.host.catalog_hash);
    if (same) same.free += f.free;
    else byCatalog.set(f.host.catalog_hash, { classes: offer ? [...offer.classes] : null, models: offer ? [...offer.models] : [], free: f.free });
  }
  return [...byCatalog.values()];
}

/** A sibling's offer as placement reads it, with the slots still free in this lend. */
export interface Loan {
  offer: HostOffer | undefined;
  free: number;
}

export function loansOf(offers: readonly LendOffer[]): Loan[] {
  return offers.map((o) => ({
    offer: o.classes === null ? undefined : { classes: new Set(o.classes), models: new Set(o.models) },
    free: Math.max(0, Math.floor(o.free)),
  }));
}

/**
 * The next job to lend: the fair-next one (as placement's step 1) among the queued jobs some loan
 * with a free slot can run, and the loan it takes a slot of. The caller dequeues it and counts the
 * tenant's turn, so a lend of several is as fair as that many dispatches here.
 */
export function lendNext(store: DispatcherStore, cache: PlacementCache, loans: readonly Loan[]): { job: QueueRow; loan: Loan } | undefined {
  const open = loans.filter((l) => l.free > 0);
  if (open.length === 0) return undefined;
  const runnable = store
    .queuedNeeds()
    .map((q) => q.needs_id)
    .filter((id) => open.some((l) => canRun(cache.needsOf(store, id), l.offer)));
  if (runnable.length === 0) return undefined;
  const job = pickJob(store, runnable);
  if (!job) return undefined;
  const needs = cache.needsOf(store, job.needs_id);
  const loan = open.find((l) => canRun(needs, l.offer));
  return loan && { job, loan };
}

function pickJob(store: DispatcherStore, needsIds: readonly number[] | undefined): QueueRow | undefined {
  const line = nextLine(store.tenantLines(needsIds));
  return line && store.queued(line.head.jobId);
}
