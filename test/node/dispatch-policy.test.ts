// The Dispatcher's scheduling rules on plain values: which host, which job, how far back in line,
// and the terms of a dispatch or a requeue. The Dispatcher's own tests (test/worker/dispatch-*)
// check that it applies them.
import { describe, expect, it } from "vitest";
import { bestHost } from "../../src/dispatch/placement.ts";
import {
  afterLoss,
  cooldownUntil,
  DEADLINE_GRACE_MS,
  dispatchTerms,
  freeHosts,
  freeSlots,
  type HostLoad,
  isDispatchable,
  nextLine,
  PREFETCH_ALLOWANCE,
  queuePosition,
  REFUSAL_COOLDOWN_MS,
  REJECTION_COOLDOWN_MS,
  requeueTerms,
  retriesFailure,
  type TenantLine,
} from "../../src/dispatch/policy.ts";

const NOW = 1_000_000;
const rules = { now: NOW, heartbeatTimeoutMs: 20_000, expectedLockHash: "" };

const host = (id: string, over: Partial<HostLoad> = {}): HostLoad => ({
  id,
  slots: 1,
  capacity: 1 + PREFETCH_ALLOWANCE,
  last_heartbeat_at: NOW - 1_000,
  draining: 0,
  comfy: "ready",
  lock_hash: "lock-a",
  unavailable_until: 0,
  held: 0,
  ...over,
});

const line = (tenantId: string, turn: number, enqueuedAt: number, length = 1, jobId = `job-${tenantId}`): TenantLine => ({
  tenantId,
  turn,
  head: { jobId, enqueuedAt },
  length,
});

describe("free slots", () => {
  it("are the reported capacity, capped at the registered slots plus the prefetch allowance, minus held jobs", () => {
    expect(freeSlots({ slots: 1, capacity: 10 }, 0)).toBe(1 + PREFETCH_ALLOWANCE);
    expect(freeSlots({ slots: 4, capacity: 2 }, 0)).toBe(2);
    expect(freeSlots({ slots: 4, capacity: 2 }, 1)).toBe(1);
    expect(freeSlots({ slots: 1, capacity: 3 }, 5)).toBe(0);
  });
});

describe("which host", () => {
  it("only a live, ready, undrained, unlocked-or-matching host that is not cooling down takes work", () => {
    expect(isDispatchable(host("a"), rules)).toBe(true);
    expect(isDispatchable(host("a", { last_heartbeat_at: null }), rules)).toBe(false);
    expect(isDispatchable(host("a", { last_heartbeat_at: NOW - 20_000 }), rules)).toBe(true);
    expect(isDispatchable(host("a", { last_heartbeat_at: NOW - 20_001 }), rules)).toBe(false);
    expect(isDispatchable(host("a", { draining: 1 }), rules)).toBe(false);
    expect(isDispatchable(host("a", { comfy: "starting" }), rules)).toBe(false);
    expect(isDispatchable(host("a", { unavailable_until: NOW + 1 }), rules)).toBe(false);
    expect(isDispatchable(host("a", { unavailable_until: NOW }), rules)).toBe(true);
    expect(isDispatchable(host("a"), { ...rules, expectedLockHash: "lock-a" })).toBe(true);
    expect(isDispatchable(host("a"), { ...rules, expectedLockHash: "lock-b" })).toBe(false);
  });

  it("picks the host with the most free slots, the lowest id on a tie, and none when all are full", () => {
    const pick = (hosts: HostLoad[]) =>
      bestHost(
        freeHosts(hosts, rules).map((f) => ({ id: f.host.id, free: f.free, cost: 0 })),
        false,
      );
    const hosts = [host("c", { capacity: 2 }), host("b", { capacity: 3, held: 1 }), host("a", { capacity: 2 })];
    expect(pick(hosts)).toMatchObject({ id: "a", free: 2 });
    expect(pick([host("z", { capacity: 3 }), ...hosts])).toMatchObject({ id: "z", free: 3 });
    expect(pick([host("a", { held: 3 }), host("b", { draining: 1 })])).toBeUndefined();
    expect(pick([])).toBeUndefined();
  });
});

describe("which job", () => {
  it("goes to the tenant whose last turn is oldest, a never-served tenant first", () => {
    expect(nextLine([line("a", 5, 1), line("b", 2, 9), line("c", 7, 0)])?.tenantId).toBe("b");
    expect(nextLine([line("a", 5, 1), line("new", 0, 99)])?.tenantId).toBe("new");
  });

  it("on equal turns, to the line whose head waited longest, then the lowest head job id", () => {
    expect(nextLine([line("a", 1, 20), line("b", 1, 10)])?.tenantId).toBe("b");
    expect(nextLine([line("a", 1, 10, 1, "job-2"), line("b", 1, 10, 1, "job-1")])?.tenantId).toBe("b");
    expect(nextLine([])).toBeUndefined();
  });
});

describe("queue positions", () => {
  it("count the tenant's earlier jobs plus, from each other tenant, as many as fit before under the round-robin", () => {
    // Tenant a was served last (turn 3); b (turn 1) and c (turn 2) go before a's next turn.
    const a = line("a", 3, 100, 4);
    const lines = [a, line("b", 1, 200, 10), line("c", 2, 50, 1)];
    expect(queuePosition(a, 0, lines)).toBe(0 + 1 + 1);
    // a's fourth job (3 of its own ahead): b gets 3 + 1 turns first, c only has 1 job.
    expect(queuePosition(a, 3, lines)).toBe(3 + 4 + 1);
  });

  it("a line served before the others counts only k of theirs", () => {
    const a = line("a", 0, 10, 3);
    const lines = [a, line("b", 4, 5, 10)];
    expect(queuePosition(a, 0, lines)).toBe(0);
    expect(queuePosition(a, 2, lines)).toBe(2 + 2);
  });
});

describe("dispatch and requeue terms", () => {
  it("a dispatch's lease runs for the TTL, its deadline for the job timeout plus the edge's grace", () => {
    expect(dispatchTerms(NOW, { leaseTtlMs: 30_000, jobTimeoutMs: 600_000 })).toEqual({
      lease_expires_at: NOW + 30_000,
      deadline_at: NOW + 600_000 + DEADLINE_GRACE_MS,
    });
  });

  it("a retry counts the attempt and restarts the queue timeout; a dispatch not taken changes neither", () => {
    const a = { attempt: 2, queue_deadline_at: NOW + 5 };
    expect(requeueTerms(a, "retry", NOW, 900_000)).toEqual({ attempts: 2, queue_deadline_at: NOW + 900_000 });
    expect(requeueTerms(a, "not-taken", NOW, 900_000)).toEqual({ attempts: 1, queue_deadline_at: NOW + 5 });
  });

  it("a lost job is cancelled if the user asked, retried while attempts remain, then failed", () => {
    expect(afterLoss({ attempt: 1, cancel_requested: 1 }, 3)).toBe("cancelled");
    expect(afterLoss({ attempt: 2, cancel_requested: 0 }, 3)).toBe("retry");
    expect(afterLoss({ attempt: 3, cancel_requested: 0 }, 3)).toBe("failed");
  });

  it("a reported failure is retried only if retryable, not cancelled and attempts remain", () => {
    expect(retriesFailure({ attempt: 1, cancel_requested: 0 }, true, 3)).toBe(true);
    expect(retriesFailure({ attempt: 1, cancel_requested: 0 }, false, 3)).toBe(false);
    expect(retriesFailure({ attempt: 1, cancel_requested: 1 }, true, 3)).toBe(false);
    expect(retriesFailure({ attempt: 3, cancel_requested: 0 }, true, 3)).toBe(false);
  });

  it("a host that rejected a dispatch cools down longer than one that was busy or unreachable", () => {
    expect(cooldownUntil(NOW, "rejected")).toBe(NOW + REJECTION_COOLDOWN_MS);
    expect(cooldownUntil(NOW, "refused")).toBe(NOW + REFUSAL_COOLDOWN_MS);
    expect(cooldownUntil(NOW, "unreachable")).toBe(NOW + REFUSAL_COOLDOWN_MS);
  });
});
