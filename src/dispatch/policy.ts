/**
 * The Dispatcher's scheduling policy, as pure functions of what its tables hold and the time it
 * is: which hosts may take a job, which job goes next, how far back in the line a job is, and
 * the terms (lease, deadlines, attempt) of a dispatch or a requeue. No storage and no clock of
 * its own, so each rule is unit-tested on plain values (test/node/dispatch-policy.test.ts);
 * durable-objects/dispatcher/store.ts reads the inputs and writes the outcome.
 */

/** Jobs a host may hold beyond its declared slots: prepared ahead so its GPU never idles. */
export const PREFETCH_ALLOWANCE = 2;
/** Grace after a deadline before the edge fails the job itself (the host should report first). */
export const DEADLINE_GRACE_MS = 30_000;
/** How long a host that missed a dispatch (timeout, 409 full, 5xx) is skipped. */
export const REFUSAL_COOLDOWN_MS = 3_000;
/** How long a host that rejected a dispatch as invalid (4xx other than 409) is skipped. */
export const REJECTION_COOLDOWN_MS = 60_000;

/** What the policy reads of a host: its registration and its last heartbeat. */
export interface HostState {
  id: string;
  slots: number;
  capacity: number;
  last_heartbeat_at: number | null;
  draining: number;
  comfy: string;
  lock_hash: string | null;
  unavailable_until: number;
}

/** A host and the number of its jobs that still hold a GPU slot (not yet past ComfyUI). */
export type HostLoad<H extends HostState = HostState> = H & { held: number };

export interface LivenessRules {
  now: number;
  heartbeatTimeoutMs: number;
  /** "" when any lock is accepted. */
  expectedLockHash: string;
}

/** Free slots of a host: what it reports it can hold, capped by its registration, minus its jobs. */
export function freeSlots(host: Pick<HostState, "capacity" | "slots">, held: number): number {
  return Math.max(0, Math.min(host.capacity, host.slots + PREFETCH_ALLOWANCE) - held);
}

/** Heard from recently. */
export function isLive(host: Pick<HostState, "last_heartbeat_at">, rules: Pick<LivenessRules, "now" | "heartbeatTimeoutMs">): boolean {
  return host.last_heartbeat_at !== null && host.last_heartbeat_at >= rules.now - rules.heartbeatTimeoutMs;
}

export function lockAccepted(host: Pick<HostState, "lock_hash">, expectedLockHash: string): boolean {
  return expectedLockHash === "" || host.lock_hash === expectedLockHash;
}

/** May take work: live, ComfyUI ready, not draining, lock as expected, not cooling down after a refusal. */
export function isDispatchable(host: HostState, rules: LivenessRules): boolean {
  return (
    isLive(host, rules) && host.draining === 0 && host.comfy === "ready" && host.unavailable_until <= rules.now && lockAccepted(host, rules.expectedLockHash)
  );
}

/** The dispatchable hosts that have a free slot, with how many (placement.ts chooses among them). */
export function freeHosts<H extends HostState>(hosts: readonly HostLoad<H>[], rules: LivenessRules): { host: HostLoad<H>; free: number }[] {
  const out: { host: HostLoad<H>; free: number }[] = [];
  for (const host of hosts) {
    if (!isDispatchable(host, rules)) continue;
    const free = freeSlots(host, host.held);
    if (free > 0) out.push({ host, free });
  }
  return out;
}

/** One tenant's line in the queue: its head job, its length and the dispatch turn it last got. */
export interface TenantLine {
  tenantId: string;
  /** The pool-wide turn number of this tenant's last dispatch; 0 if never served. */
  turn: number;
  head: { jobId: string; enqueuedAt: number };
  length: number;
}

/**
 * Round-robin across tenants, FIFO within a tenant: the line whose last turn is oldest goes first
 * (a tenant never served before all others), then the one whose head job waited longest. A tenant
 * with a long backlog therefore delays another tenant's first job by at most one job per slot.
 */
export function servedBefore(a: TenantLine, b: TenantLine): boolean {
  if (a.turn !== b.turn) return a.turn < b.turn;
  if (a.head.enqueuedAt !== b.head.enqueuedAt) return a.head.enqueuedAt < b.head.enqueuedAt;
  return a.head.jobId < b.head.jobId;
}

/** The line whose head job is dispatched next, or none when the queue is empty. */
export function nextLine(lines: readonly TenantLine[]): TenantLine | undefined {
  let best: TenantLine | undefined;
  for (const line of lines) if (!best || servedBefore(line, best)) best = line;
  return best;
}

/**
 * Jobs dispatched before a queued job under the round-robin, if nothing new arrives: its own
 * tenant's `earlierInLine` jobs (k), plus from each other tenant min(its backlog, k, or k + 1 when
 * that tenant's turn comes before this one's).
 */
export function queuePosition(own: TenantLine, earlierInLine: number, lines: readonly TenantLine[]): number {
  let ahead = earlierInLine;
  for (const other of lines) {
    if (other.tenantId === own.tenantId) continue;
    ahead += Math.min(other.length, earlierInLine + (servedBefore(other, own) ? 1 : 0));
  }
  return ahead;
}

export interface DispatchTimes {
  leaseTtlMs: number;
  jobTimeoutMs: number;
}

/** A new dispatch's lease expiry and run deadline (the host's deadline plus the edge's grace). */
export function dispatchTerms(now: number, t: DispatchTimes): { lease_expires_at: number; deadline_at: number } {
  return { lease_expires_at: now + t.leaseTtlMs, deadline_at: now + t.jobTimeoutMs + DEADLINE_GRACE_MS };
}

/**
 * How a dispatched job goes back to the queue. `retry`: the attempt happened (host lost,
 * retryable failure), so the next one is attempt + 1 and the queue timeout starts again.
 * `not-taken`: the host refused or missed the dispatch, so the attempt did not happen and the job
 * keeps its attempt count and its queue deadline.
 */
export function requeueTerms(
  a: { attempt: number; queue_deadline_at: number },
  how: "retry" | "not-taken",
  now: number,
  queuedTimeoutMs: number,
): { attempts: number; queue_deadline_at: number } {
  return how === "retry"
    ? { attempts: a.attempt, queue_deadline_at: now + queuedTimeoutMs }
    : { attempts: a.attempt - 1, queue_deadline_at: a.queue_deadline_at };
}

/** What becomes of a job whose host lost it: cancelled (the user asked), retried, or failed for good. */
export function afterLoss(a: { attempt: number; cancel_requested: number }, maxAttempts: number): "cancelled" | "retry" | "failed" {
  if (a.cancel_requested) return "cancelled";
  return a.attempt < maxAttempts ? "retry" : "failed";
}

/** Whether a failure the host reported is tried again on another attempt. */
export function retriesFailure(a: { attempt: number; cancel_requested: number }, retryable: boolean, maxAttempts: number): boolean {
  return retryable && !a.cancel_requested && a.attempt < maxAttempts;
}

/** Until when a host that did not take a dispatch is skipped. */
export function cooldownUntil(now: number, kind: "rejected" | "refused" | "unreachable"): number {
  return now + (kind === "rejected" ? REJECTION_COOLDOWN_MS : REFUSAL_COOLDOWN_MS);
}
