/**
 * Placement (issue 13.4), as pure functions: which hosts can run a job (its catalog has every node
 * class and model file the job names), which of them is warmest for it, and when a free host may
 * pass over the fair-next job for one whose models it already holds. The Dispatcher's pump
 * (durable-objects/dispatcher.ts) reads its tables and applies these; docs/dispatch.md explains
 * the rules and the fairness bound. Unit tests: test/node/dispatch-placement.test.ts.
 */
import type { CatalogSummary } from "../protocol/catalog.ts";

/** What a job names: its node classes and the model files its model inputs hold (sorted, distinct). */
export interface JobNeeds {
  classes: readonly string[];
  models: readonly string[];
  /** Its pool fetches model files on demand: hosts need not have them (they still count for affinity). */
  modelsOnDemand?: boolean;
  /**
   * The tenant's private files it names (src/models/tenant-refs.ts), as hosts fetch them: always
   * on demand, so never required of a host (and not in `models`).
   */
  privateModels?: readonly { folder: string; name: string; sha256: string; size: number }[];
}

export const NO_NEEDS: JobNeeds = { classes: [], models: [] };

/** What a host's catalog offers, by name (models across every folder); undefined: it published none. */
export interface HostOffer {
  classes: ReadonlySet<string>;
  models: ReadonlySet<string>;
}

/** A catalog's summary as an offer: every class, and every model file name in any folder. */
export function offerOf(summary: CatalogSummary): HostOffer {
  return { classes: new Set(summary.classes), models: new Set(Object.values(summary.models).flat()) };
}

export interface Missing {
  classes: string[];
  models: string[];
}

/** What of `needs` the host lacks. */
export function missingOn(needs: JobNeeds, offer: HostOffer): Missing {
  return {
    classes: needs.classes.filter((c) => !offer.classes.has(c)),
    models: needs.modelsOnDemand ? [] : needs.models.filter((m) => !offer.models.has(m)),
  };
}

/**
 * Whether a host can run a job. A host that has published no catalog is not checked (nothing to
 * check against; every gpu-backend publishes one on ready), just as a submit to a pool without
 * catalogs is not; a host whose catalog the Dispatcher does not hold yet is `"pending"` and runs
 * nothing until it sends it.
 */
export function canRun(needs: JobNeeds, offer: HostOffer | undefined | "pending"): boolean {
  if (offer === undefined) return true;
  if (offer === "pending") return false;
  const m = missingOn(needs, offer);
  return m.classes.length === 0 && m.models.length === 0;
}

/**
 * What it costs a host to get the job's model files ready, per file: 0 when it is warm (in VRAM,
 * or named by the job the host got last), 1 when the host has it on disk (a load), 2 when it does
 * not (a download first, in a pool that fetches model files on demand). A host without a known
 * catalog counts as having the files on disk.
 */
export function loadCost(needs: JobNeeds, warm: ReadonlySet<string>, offer?: HostOffer | "pending"): number {
  let cost = 0;
  for (const m of needs.models) {
    if (warm.has(m)) continue;
    cost += offer === undefined || offer === "pending" || offer.models.has(m) ? 1 : 2;
  }
  return cost;
}

/** A free host that can run the job, with what the choice weighs. */
export interface HostChoice {
  id: string;
  free: number;
  /** loadCost() of the job on it. */
  cost: number;
}

/**
 * The host a job goes to among the free hosts that can run it: with model affinity, the one that
 * would load the fewest of its models, then the most free slots, then the lowest id; without, the
 * most free slots, then the lowest id.
 */
export function bestHost<H extends HostChoice>(candidates: readonly H[], affinity: boolean): H | undefined {
  let best: H | undefined;
  for (const h of candidates) {
    if (!best) {
      best = h;
      continue;
    }
    if (affinity && h.cost !== best.cost) {
      if (h.cost < best.cost) best = h;
      continue;
    }
    if (h.free > best.free || (h.free === best.free && h.id < best.id)) best = h;
  }
  return best;
}

export interface PassOverInput {
  /** The fair-next job's load cost on the chosen host. */
  costHere: number;
  /** How often the fair-next job was already passed over. */
  passedOver: number;
  maxPassOvers: number;
  /** Whether some other host that can run it (free or busy) would cost it less. */
  warmerElsewhere: boolean;
}

/**
 * Whether the chosen host should take a job warmer for it than the fair-next one (if one is
 * queued): only when the fair-next job would load or download models here, has a warmer host to wait for, and
 * has been passed over fewer than `maxPassOvers` times. So a job waits for at most
 * `maxPassOvers` dispatches taken in its place, after which the next free host that can run it
 * takes it.
 */
export function mayPassOver(p: PassOverInput): boolean {
  return p.maxPassOvers > 0 && p.costHere > 0 && p.warmerElsewhere && p.passedOver < p.maxPassOvers;
}

/**
 * Why a queued job is not running although hosts are up: what the closest live host lacks (the
 * one missing the fewest names). Undefined when some live host can run it, or none is live.
 */
export function waitingFor(needs: JobNeeds, offers: readonly (HostOffer | undefined | "pending")[]): Missing | undefined {
  let closest: Missing | undefined;
  for (const offer of offers) {
    if (offer === "pending") continue;
    if (offer === undefined) return undefined;
    const m = missingOn(needs, offer);
    if (m.classes.length === 0 && m.models.length === 0) return undefined;
    if (!closest || m.classes.length + m.models.length < closest.classes.length + closest.models.length) closest = m;
  }
  return closest;
}
