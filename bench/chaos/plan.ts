// The chaos run's plan, computed up front from the seed alone: when each job is submitted (its
// graph, tenant, user, whether and when it is cancelled), which fault strikes which host when and
// for how long, and when the webhook receivers are down. The same seed gives the same plan; what
// a fault then meets at run time (a busy or an idle host) is up to the system under test.
import { Rng } from "./rng.ts";

export const JOB_KINDS = ["txt2img", "fast", "slow", "failing"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const FAULT_KINDS = ["kill-backend", "stop-backend", "crash-emulator", "drop-websocket", "drain-remove"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const OUTAGE_MODES = ["refuse", "503", "timeout"] as const;
export type OutageMode = (typeof OUTAGE_MODES)[number];

export interface PlannedJob {
  index: number;
  kind: JobKind;
  tenant: number;
  user: string;
  /** Webhook receiver (0 or 1) the job's events go to. */
  receiver: number;
  submitAtMs: number;
  /** Cancel this long after the submit answered; null: never. */
  cancelAfterMs: number | null;
  /** Unique per job: in its SaveImage prefix, so the emulators' execution logs name the job. */
  nonce: string;
  seed: number;
  steps: number;
}

export interface PlannedFault {
  atMs: number;
  kind: FaultKind;
  host: number;
  /** How long the host stays faulted before it is restarted, resumed or reinstated (0: instant). */
  holdMs: number;
}

export interface PlannedOutage {
  receiver: number;
  atMs: number;
  downMs: number;
  mode: OutageMode;
}

export interface PlanOptions {
  seed: number;
  jobs: number;
  /** The window jobs are submitted and faults injected in. */
  minutes: number;
  hosts: number;
  tenants: number;
  usersPerTenant: number;
  /** The edge's LEASE_TTL_SECONDS: a stopped backend stays stopped past it. */
  leaseSeconds: number;
  /** Mean time between two faults. */
  faultEveryMs: number;
}

export interface Plan {
  options: PlanOptions;
  jobs: PlannedJob[];
  faults: PlannedFault[];
  outages: PlannedOutage[];
}

const KIND_WEIGHTS: Record<JobKind, number> = { txt2img: 30, fast: 30, slow: 25, failing: 15 };
const CANCEL_SHARE = 0.1;
/** Time a host needs after a fault before it takes another one (restart, heartbeat, catalog). */
const RECOVERY_MS = 8_000;
/** A receiver outage lasts this share of the window, at most MAX_OUTAGE_MS. */
const MAX_OUTAGE_MS = 180_000;

function holdFor(kind: FaultKind, rng: Rng, leaseSeconds: number): number {
  switch (kind) {
    case "kill-backend":
      return rng.int(1_000, 5_000);
    case "stop-backend":
      return leaseSeconds * 1000 + rng.int(2_000, 6_000);
    case "crash-emulator":
      return rng.int(1_000, 4_000);
    case "drop-websocket":
      return 0;
    case "drain-remove":
      return rng.int(3_000, 10_000);
  }
}

export function makePlan(options: PlanOptions): Plan {
  const rng = new Rng(options.seed);
  const windowMs = Math.round(options.minutes * 60_000);

  const jobs: PlannedJob[] = [];
  const submitTimes = Array.from({ length: options.jobs }, () => rng.int(0, windowMs)).sort((a, b) => a - b);
  for (const [index, submitAtMs] of submitTimes.entries()) {
    const kind = rng.weighted(KIND_WEIGHTS);
    jobs.push({
      index,
      kind,
      tenant: rng.int(0, options.tenants - 1),
      user: `user-${rng.int(1, options.usersPerTenant)}`,
      receiver: rng.int(0, 1),
      submitAtMs,
      cancelAfterMs: rng.next() < CANCEL_SHARE ? rng.int(0, 5_000) : null,
      nonce: `${index.toString(36)}x${rng.int(0, 36 ** 6 - 1).toString(36)}`,
      seed: rng.int(0, 2 ** 31 - 1),
      steps: kind === "slow" ? rng.int(10, 40) : 8,
    });
  }

  // Faults: one per faultEveryMs on average, kinds drawn from shuffled bags so every kind comes
  // up early; a host takes one fault at a time, and at least one host is never faulted at once.
  const faults: PlannedFault[] = [];
  const busyUntil = Array.from({ length: options.hosts }, () => 0);
  let bag: FaultKind[] = [];
  for (let at = rng.int(2_000, options.faultEveryMs); at < windowMs; at += rng.int(options.faultEveryMs / 2, (options.faultEveryMs * 3) / 2)) {
    const free = busyUntil.flatMap((until, host) => (until <= at ? [host] : []));
    if (free.length === 0 || options.hosts - free.length >= options.hosts - 1) continue;
    if (bag.length === 0) bag = rng.shuffle(FAULT_KINDS);
    const kind = bag.pop()!;
    const host = rng.pick(free);
    const holdMs = holdFor(kind, rng, options.leaseSeconds);
    faults.push({ atMs: at, kind, host, holdMs });
    busyUntil[host] = at + holdMs + RECOVERY_MS;
  }

  // Receiver outages: each receiver goes down about once per ten minutes of window (at least once).
  const outages: PlannedOutage[] = [];
  const perReceiver = Math.max(1, Math.round(windowMs / 600_000));
  const slot = windowMs / perReceiver;
  for (let receiver = 0; receiver < 2; receiver++) {
    for (let i = 0; i < perReceiver; i++) {
      const downMs = Math.min(MAX_OUTAGE_MS, rng.int(Math.round(slot * 0.15), Math.round(slot * 0.3)));
      const atMs = Math.round(i * slot + rng.int(0, Math.max(0, Math.round(slot - downMs))));
      outages.push({ receiver, atMs, downMs, mode: rng.pick(OUTAGE_MODES) });
    }
  }
  outages.sort((a, b) => a.atMs - b.atMs);
  return { options, jobs, faults, outages };
}
