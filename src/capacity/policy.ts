/**
 * The autoscaling policy of a pool (issue 18), as a pure function of what its PoolScaler reads
 * every few seconds: the hosts it launched, the pool's queue and the time it is. No clock, no I/O
 * and no randomness, so every rule is unit-tested on plain values (test/node/capacity-policy.test.ts)
 * and the same code runs in the one-day simulation of bench/capacity.ts. docs/capacity.md explains
 * the rules and what the simulation says about the settings.
 *
 * The invariant it keeps: a host that holds a job is never terminated. An idle host is only drained;
 * it is terminated on a later decision, once the pool's state shows it draining with nothing
 * assigned, because between this decision's reading and the drain the Dispatcher may still have
 * given it a job (a draining host gets no new ones, so "draining, 0 assigned" is final). Only a
 * booting host, which has never been given work, is terminated at once.
 */

/** A pool's scaling settings (the admin API's `min_hosts`, `max_hosts`, … in camelCase). */
export interface ScalingSettings {
  /** Hosts kept (booting or ready) even with no work. */
  minHosts: number;
  /** Hosts launched by the scaler that may exist at once, draining ones not counted. */
  maxHosts: number;
  /** Spare capacity kept beyond the current work, in hosts (bufferHosts × slotsPerHost free slots). */
  bufferHosts: number;
  /** How long a ready host has been without a job before it is drained. */
  scaledownWindowSeconds: number;
  /** How long a launched host may take to become ready before it is terminated. */
  bootTimeoutSeconds: number;
  /** Jobs a launched host runs at once (its gpu-backend's slots). */
  slotsPerHost: number;
}

/** The audit's safe defaults: nothing runs without work, at most two hosts, one minute of idleness. */
export const DEFAULT_SCALING: ScalingSettings = {
  minHosts: 0,
  maxHosts: 2,
  bufferHosts: 0,
  scaledownWindowSeconds: 60,
  bootTimeoutSeconds: 600,
  slotsPerHost: 1,
};

/** Hard bounds on the settings (validateScaling). */
export const MAX_HOSTS_LIMIT = 100;
export const BOOT_TIMEOUT_RANGE_SECONDS = [30, 3600] as const;
export const SLOTS_PER_HOST_RANGE = [1, 64] as const;

/**
 * Hosts one decision launches at most. The PoolScaler decides every few seconds and counts booting
 * hosts as capacity, so a burst needing more is served over a few decisions; this keeps one burst
 * from sending dozens of launch requests to the provider at once (its rate limits, and a bad image
 * failing many hosts together). Irrelevant at the default max_hosts.
 */
export const MAX_LAUNCHES_PER_DECISION = 10;

/** A host the scaler launched, as it stands now. Times are ms since the epoch. */
export interface ScaledHost {
  instanceId: string;
  /** booting: launched, not yet ready (no heartbeat saying ComfyUI is up); draining: takes no new jobs. */
  state: "booting" | "ready" | "draining";
  launchedAt: number;
  readyAt: number | null;
  /** Jobs it runs at once (for a booting host: what it will have, normally settings.slotsPerHost). */
  slots: number;
  /** Jobs the Dispatcher has given it now (running plus prefetched ones waiting for its GPU). */
  assigned: number;
  /** The last time it had assigned > 0 (maintained by the caller); null: never. */
  lastBusyAt: number | null;
}

export interface PolicyInput {
  now: number;
  settings: ScalingSettings;
  /** Only the hosts the scaler launched: manually registered hosts are never scaled. */
  hosts: ScaledHost[];
  /** Jobs waiting in the pool's queue (not yet given to any host). */
  queued: number;
  /** No launch while now < this (set by the caller after provider failures: backoffMs). */
  launchBackoffUntil: number | null;
  /**
   * Free slots on live hosts the scaler did not launch (manually registered ones) that may take
   * queued jobs; they count as capacity for launching and for the buffer. Default 0.
   */
  fixedFreeSlots?: number;
}

export type ScalingAction =
  | { kind: "launch"; count: number; reason: string }
  | { kind: "drain"; instanceId: string; reason: "idle" | "over-max" }
  | { kind: "terminate"; instanceId: string; reason: "idle" | "boot-timeout" | "over-max" | "drained" };

/**
 * What to do now, in the order to do it: terminations first (they free room under max_hosts),
 * then drains, then at most one launch. decide() never answers terminate/"idle": an idle host is
 * drained ("idle") and terminated as "drained" on a later decision (see the header).
 */
export function decide(input: PolicyInput): ScalingAction[] {
  const { now, settings: s, queued } = input;
  const actions: ScalingAction[] = [];
  const slotsOf = (h: ScaledHost) => (h.slots > 0 ? h.slots : s.slotsPerHost);
  const perHost = Math.max(1, s.slotsPerHost);

  // 1. Draining hosts that hold nothing end; booting hosts past their timeout end (and count no more).
  const live: ScaledHost[] = [];
  for (const h of input.hosts) {
    if (h.state === "draining") {
      if (h.assigned <= 0) actions.push({ kind: "terminate", instanceId: h.instanceId, reason: "drained" });
    } else if (h.state === "booting" && now - h.launchedAt >= s.bootTimeoutSeconds * 1000) {
      actions.push({ kind: "terminate", instanceId: h.instanceId, reason: "boot-timeout" });
    } else {
      live.push(h);
    }
  }

  // 2. Over max_hosts (the settings shrank): idle ready hosts first (longest idle first), then
  //    booting ones (latest launched first: least boot time sunk), then busy ones (fewest jobs first).
  if (live.length > s.maxHosts) {
    const idle = live.filter((h) => h.state === "ready" && h.assigned <= 0).sort((a, b) => idleSince(a) - idleSince(b));
    const booting = live.filter((h) => h.state === "booting").sort((a, b) => b.launchedAt - a.launchedAt);
    const busy = live.filter((h) => h.state === "ready" && h.assigned > 0).sort((a, b) => a.assigned - b.assigned);
    for (const h of [...idle, ...booting, ...busy].slice(0, live.length - s.maxHosts)) {
      actions.push(
        h.state === "booting"
          ? { kind: "terminate", instanceId: h.instanceId, reason: "over-max" }
          : { kind: "drain", instanceId: h.instanceId, reason: "over-max" },
      );
      live.splice(live.indexOf(h), 1);
    }
  }

  // The work and the capacity for it. Jobs a host holds beyond its slots (prefetched, waiting for
  // its GPU) are not counted as work: they are bound to that host, no new host could take them.
  let free = Math.max(0, input.fixedFreeSlots ?? 0);
  const work = Math.max(0, queued);
  for (const h of live) free += h.state === "booting" ? slotsOf(h) : Math.max(0, slotsOf(h) - h.assigned);
  const bufferSlots = Math.max(0, s.bufferHosts) * perHost;

  // 3. Scale-down: ready hosts idle for the window, oldest idle first, while neither min_hosts nor
  //    the buffer would be broken, and never while the queue has work they could take.
  if (queued <= 0 && live.length > s.minHosts) {
    const windowMs = Math.max(0, s.scaledownWindowSeconds) * 1000;
    const idle = live
      .filter((h) => h.state === "ready" && h.assigned <= 0 && now - idleSince(h) >= windowMs)
      .sort((a, b) => idleSince(a) - idleSince(b) || (a.instanceId < b.instanceId ? -1 : 1));
    for (const h of idle) {
      if (live.length <= s.minHosts || free - slotsOf(h) - work < bufferSlots) continue;
      actions.push({ kind: "drain", instanceId: h.instanceId, reason: "idle" });
      live.splice(live.indexOf(h), 1);
      free -= slotsOf(h);
    }
  }

  // 4. Launch: for the work beyond the capacity at hand and booting, for the buffer, for min_hosts;
  //    never past max_hosts, never during a back-off, never more than MAX_LAUNCHES_PER_DECISION.
  const forWork = Math.ceil(Math.max(0, work + bufferSlots - free) / perHost);
  const forMin = Math.max(0, s.minHosts - live.length);
  const wanted = Math.max(forWork, forMin);
  const room = Math.max(0, s.maxHosts - live.length);
  const count = Math.min(wanted, room, MAX_LAUNCHES_PER_DECISION);
  const backingOff = input.launchBackoffUntil !== null && now < input.launchBackoffUntil;
  if (count > 0 && !backingOff) {
    const why: string[] = [];
    if (forWork > 0) why.push(`${work} job(s) waiting${bufferSlots > 0 ? ` + ${bufferSlots} buffer slot(s)` : ""} > ${free} slot(s) free or booting`);
    if (forMin > 0) why.push(`min_hosts ${s.minHosts} > ${live.length} host(s)`);
    if (count < wanted) why.push(count === room ? `capped by max_hosts ${s.maxHosts}` : `capped at ${MAX_LAUNCHES_PER_DECISION} per decision`);
    actions.push({ kind: "launch", count, reason: why.join("; ") });
  }
  return actions;
}

/** Since when a ready host has been idle: its last job, or its readiness if it never had one. */
export function idleSince(h: Pick<ScaledHost, "lastBusyAt" | "readyAt" | "launchedAt">): number {
  return Math.max(h.lastBusyAt ?? Number.NEGATIVE_INFINITY, h.readyAt ?? h.launchedAt);
}

/** First step of the launch back-off and its ceiling. */
export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

/**
 * How long to wait before launching again after `consecutiveFailures` failed launches (or boot
 * timeouts, when the caller counts them): 0 after none, then 5 s, 10 s, 20 s, … up to 5 min.
 * No jitter: jitter spreads many clients retrying one server at the same moment, and here each
 * pool has a single caller (its PoolScaler) whose decisions already fall at its own alarm times;
 * determinism keeps the schedule testable and what the admin API shows exact.
 */
export function backoffMs(consecutiveFailures: number): number {
  if (!(consecutiveFailures >= 1)) return 0;
  const steps = Math.min(Math.floor(consecutiveFailures) - 1, 30);
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** steps);
}

/** The problems with a pool's settings, for the admin API (empty: valid). Names as the API spells them. */
export function validateScaling(s: ScalingSettings): string[] {
  const problems: string[] = [];
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) problems.push(`${name} must be an integer from ${lo} to ${hi} (got ${v})`);
  };
  int("min_hosts", s.minHosts, 0, MAX_HOSTS_LIMIT);
  int("max_hosts", s.maxHosts, 0, MAX_HOSTS_LIMIT);
  int("buffer_hosts", s.bufferHosts, 0, MAX_HOSTS_LIMIT);
  if (!Number.isFinite(s.scaledownWindowSeconds) || s.scaledownWindowSeconds < 0) {
    problems.push(`scaledown_window_seconds must be 0 or more (got ${s.scaledownWindowSeconds})`);
  }
  int("boot_timeout_seconds", s.bootTimeoutSeconds, ...BOOT_TIMEOUT_RANGE_SECONDS);
  int("slots_per_host", s.slotsPerHost, ...SLOTS_PER_HOST_RANGE);
  if (s.minHosts > s.maxHosts) problems.push(`min_hosts (${s.minHosts}) must not exceed max_hosts (${s.maxHosts})`);
  if (s.bufferHosts > s.maxHosts) problems.push(`buffer_hosts (${s.bufferHosts}) must not exceed max_hosts (${s.maxHosts})`);
  return problems;
}
