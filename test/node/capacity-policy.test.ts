// The autoscaling policy (src/capacity/policy.ts) on small pools, with an injected clock: each test
// sets `now` itself, and the multi-step ones play the scaler's loop (decide, apply, advance).
import { describe, expect, it } from "vitest";
import {
  BACKOFF_MAX_MS,
  backoffMs,
  DEFAULT_SCALING,
  decide,
  MAX_LAUNCHES_PER_DECISION,
  type PolicyInput,
  type ScaledHost,
  type ScalingAction,
  type ScalingSettings,
  validateScaling,
} from "../../src/capacity/policy.ts";

const T0 = 1_700_000_000_000;
const S = 1000;

const settings = (over: Partial<ScalingSettings> = {}): ScalingSettings => ({ ...DEFAULT_SCALING, ...over });

const booting = (id: string, launchedAt: number, over: Partial<ScaledHost> = {}): ScaledHost => ({
  instanceId: id,
  state: "booting",
  launchedAt,
  readyAt: null,
  slots: 1,
  assigned: 0,
  lastBusyAt: null,
  ...over,
});

const ready = (id: string, readyAt: number, over: Partial<ScaledHost> = {}): ScaledHost => ({
  instanceId: id,
  state: "ready",
  launchedAt: readyAt - 90 * S,
  readyAt,
  slots: 1,
  assigned: 0,
  lastBusyAt: null,
  ...over,
});

const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  now: T0,
  settings: DEFAULT_SCALING,
  hosts: [],
  queued: 0,
  launchBackoffUntil: null,
  ...over,
});

const launched = (actions: ScalingAction[]) => actions.filter((a) => a.kind === "launch").reduce((n, a) => n + (a.kind === "launch" ? a.count : 0), 0);
const others = (actions: ScalingAction[]) =>
  actions.filter((a) => a.kind !== "launch").map((a) => `${a.kind}:${"instanceId" in a ? a.instanceId : ""}:${a.reason}`);

/** The scaler's side in multi-step tests: launches become booting hosts, drains and terminations apply. */
function apply(hosts: ScaledHost[], actions: ScalingAction[], now: number, ids: { next: number }): ScaledHost[] {
  let out = [...hosts];
  for (const a of actions) {
    if (a.kind === "launch") for (let i = 0; i < a.count; i++) out.push(booting(`i${ids.next++}`, now));
    else if (a.kind === "drain") out = out.map((h) => (h.instanceId === a.instanceId ? { ...h, state: "draining" } : h));
    else out = out.filter((h) => h.instanceId !== a.instanceId);
  }
  return out;
}

describe("decide: launching", () => {
  it("does nothing for an empty pool with no work at the defaults", () => {
    expect(decide(input())).toEqual([]);
  });

  it("launches one host from zero for one queued job", () => {
    const actions = decide(input({ queued: 1 }));
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ kind: "launch", count: 1 });
  });

  it("launches a burst of 10 up to max_hosts and no more, and not again while those boot", () => {
    const clock = { now: T0 };
    const ids = { next: 0 };
    let hosts: ScaledHost[] = [];
    const first = decide(input({ now: clock.now, queued: 10, hosts }));
    expect(launched(first)).toBe(2);
    expect(first[0]).toMatchObject({ reason: expect.stringContaining("capped by max_hosts 2") });
    hosts = apply(hosts, first, clock.now, ids);
    // Every 5 s while they boot (90 s), the queue still 10: nothing more.
    for (let t = 5 * S; t < 90 * S; t += 5 * S) {
      clock.now = T0 + t;
      expect(decide(input({ now: clock.now, queued: 10, hosts }))).toEqual([]);
    }
  });

  it("counts booting hosts as capacity", () => {
    const s = settings({ maxHosts: 5 });
    const hosts = [booting("a", T0 - 10 * S)];
    expect(decide(input({ settings: s, hosts, queued: 1 }))).toEqual([]);
    expect(launched(decide(input({ settings: s, hosts, queued: 3 })))).toBe(2);
    // A booting host's slots are its own (4 here), not one.
    expect(decide(input({ settings: s, hosts: [booting("a", T0, { slots: 4 })], queued: 4 }))).toEqual([]);
  });

  it("counts free slots on ready hosts, and launches when every slot is taken", () => {
    const s = settings({ maxHosts: 5 });
    expect(decide(input({ settings: s, hosts: [ready("a", T0 - 60 * S)], queued: 1 }))).toEqual([]);
    expect(launched(decide(input({ settings: s, hosts: [ready("a", T0 - 60 * S, { assigned: 1, lastBusyAt: T0 })], queued: 1 })))).toBe(1);
    // Prefetched jobs (assigned beyond slots) are bound to their host: no launch for them.
    expect(decide(input({ settings: s, hosts: [ready("a", T0 - 60 * S, { assigned: 3, lastBusyAt: T0 })], queued: 0 }))).toEqual([]);
  });

  it("counts hosts needed by slots_per_host, rounding up", () => {
    const s = settings({ maxHosts: 10, slotsPerHost: 4 });
    expect(launched(decide(input({ settings: s, queued: 4 })))).toBe(1);
    expect(launched(decide(input({ settings: s, queued: 5 })))).toBe(2);
    expect(launched(decide(input({ settings: s, queued: 9, hosts: [ready("a", T0, { slots: 4, assigned: 3, lastBusyAt: T0 })] })))).toBe(2);
  });

  it("counts the free slots of manually registered hosts (fixedFreeSlots)", () => {
    expect(decide(input({ queued: 2, fixedFreeSlots: 2 }))).toEqual([]);
    expect(launched(decide(input({ queued: 3, fixedFreeSlots: 2 })))).toBe(1);
  });

  it("never counts draining hosts against max_hosts", () => {
    const hosts = [ready("a", T0 - 60 * S, { state: "draining", assigned: 1 }), ready("b", T0 - 60 * S, { state: "draining", assigned: 1 })];
    expect(launched(decide(input({ hosts, queued: 5 })))).toBe(2);
  });

  it("launches at most MAX_LAUNCHES_PER_DECISION at once, the rest on later decisions", () => {
    const s = settings({ maxHosts: 50 });
    const ids = { next: 0 };
    let hosts: ScaledHost[] = [];
    const first = decide(input({ settings: s, queued: 25 }));
    expect(launched(first)).toBe(MAX_LAUNCHES_PER_DECISION);
    expect(first[0]).toMatchObject({ reason: expect.stringContaining("per decision") });
    hosts = apply(hosts, first, T0, ids);
    hosts = apply(hosts, decide(input({ now: T0 + 5 * S, settings: s, queued: 25, hosts })), T0 + 5 * S, ids);
    expect(launched(decide(input({ now: T0 + 10 * S, settings: s, queued: 25, hosts })))).toBe(5);
  });

  it("launches nothing during a back-off, and again once it ends", () => {
    const until = T0 + 20 * S;
    expect(decide(input({ queued: 3, launchBackoffUntil: until, now: until - 1 }))).toEqual([]);
    expect(launched(decide(input({ queued: 3, launchBackoffUntil: until, now: until })))).toBe(2);
    expect(decide(input({ settings: settings({ minHosts: 1 }), launchBackoffUntil: until, now: T0 }))).toEqual([]);
  });
});

describe("decide: boot timeout", () => {
  const s = settings({ bootTimeoutSeconds: 600 });

  it("keeps a booting host until its timeout, then terminates it and launches a replacement", () => {
    const hosts = [booting("a", T0)];
    expect(decide(input({ settings: s, hosts, queued: 1, now: T0 + 600 * S - 1 }))).toEqual([]);
    const actions = decide(input({ settings: s, hosts, queued: 1, now: T0 + 600 * S }));
    expect(actions).toEqual([
      { kind: "terminate", instanceId: "a", reason: "boot-timeout" },
      { kind: "launch", count: 1, reason: expect.any(String) },
    ]);
  });

  it("terminates without a replacement when no work needs one, and even during a back-off", () => {
    expect(decide(input({ settings: s, hosts: [booting("a", T0)], now: T0 + 601 * S }))).toEqual([
      { kind: "terminate", instanceId: "a", reason: "boot-timeout" },
    ]);
    expect(others(decide(input({ settings: s, hosts: [booting("a", T0)], queued: 1, now: T0 + 601 * S, launchBackoffUntil: T0 + 700 * S })))).toEqual([
      "terminate:a:boot-timeout",
    ]);
  });
});

describe("decide: scale-down", () => {
  it("drains a host idle for the window, not one idle just under it, and terminates it once drained", () => {
    const busyUntil = T0 + 10 * S;
    const host = ready("a", T0, { lastBusyAt: busyUntil });
    expect(decide(input({ hosts: [host], now: busyUntil + 60 * S - 1 }))).toEqual([]);
    expect(decide(input({ hosts: [host], now: busyUntil + 60 * S }))).toEqual([{ kind: "drain", instanceId: "a", reason: "idle" }]);
    expect(decide(input({ hosts: [{ ...host, state: "draining" }], now: busyUntil + 65 * S }))).toEqual([
      { kind: "terminate", instanceId: "a", reason: "drained" },
    ]);
  });

  it("counts idleness from readiness for a host that never had a job", () => {
    const host = ready("a", T0);
    expect(decide(input({ hosts: [host], now: T0 + 59 * S }))).toEqual([]);
    expect(others(decide(input({ hosts: [host], now: T0 + 60 * S })))).toEqual(["drain:a:idle"]);
  });

  it("never drains or terminates a host with assigned jobs", () => {
    // lastBusyAt long ago (a caller that lags) does not matter while it holds a job.
    const busy = ready("a", T0, { assigned: 1, lastBusyAt: T0 });
    expect(decide(input({ hosts: [busy], now: T0 + 3600 * S }))).toEqual([]);
    // Not even when another host's free slot would leave room for it (lastBusyAt lagging behind).
    expect(decide(input({ hosts: [busy, ready("b", T0 + 3590 * S)], now: T0 + 3600 * S }))).toEqual([]);
    // A draining host with work waits for it to end.
    expect(decide(input({ hosts: [{ ...busy, state: "draining" }], now: T0 + 3600 * S }))).toEqual([]);
  });

  it("never terminates a host holding a job, whatever the state (a deterministic fuzz)", () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    for (let run = 0; run < 2000; run++) {
      const now = T0 + Math.floor(rand() * 3600) * S;
      const hosts = Array.from({ length: Math.floor(rand() * 8) }, (_, i): ScaledHost => {
        const state = pick(["booting", "ready", "draining"] as const);
        const launchedAt = now - Math.floor(rand() * 1200) * S;
        return {
          instanceId: `h${i}`,
          state,
          launchedAt,
          readyAt: state === "booting" ? null : launchedAt + 90 * S,
          slots: pick([1, 2, 4]),
          assigned: state === "booting" ? 0 : pick([0, 0, 1, 2, 5]),
          lastBusyAt: rand() < 0.5 ? null : now - Math.floor(rand() * 300) * S,
        };
      });
      const s = settings({ minHosts: pick([0, 1, 2]), maxHosts: pick([0, 1, 2, 4, 8]), bufferHosts: pick([0, 1]), scaledownWindowSeconds: pick([0, 30, 60]) });
      const actions = decide(input({ now, settings: s, hosts, queued: pick([0, 0, 1, 3, 20]) }));
      for (const a of actions) {
        if (a.kind !== "terminate") continue;
        const h = hosts.find((x) => x.instanceId === a.instanceId)!;
        expect(h.assigned, `run ${run}: ${a.reason}`).toBe(0);
      }
      // A launch never takes the pool past max_hosts (non-draining hosts once the actions apply).
      const after = apply(hosts, actions, now, { next: 0 }).filter((h) => h.state !== "draining").length;
      if (launched(actions) > 0) expect(after, `run ${run}`).toBeLessThanOrEqual(s.maxHosts);
    }
  });

  it("does not drain while the queue has work an idle host could take", () => {
    expect(decide(input({ hosts: [ready("a", T0)], queued: 1, now: T0 + 600 * S }))).toEqual([]);
    // Two idle hosts and one queued job: one host would do, yet neither is drained until the queue is empty.
    const hosts = [ready("a", T0), ready("b", T0)];
    expect(decide(input({ hosts, queued: 1, now: T0 + 600 * S }))).toEqual([]);
    expect(others(decide(input({ hosts, queued: 0, now: T0 + 600 * S })))).toEqual(["drain:a:idle", "drain:b:idle"]);
  });

  it("drains the longest-idle host first and keeps min_hosts", () => {
    const hosts = [ready("new", T0, { lastBusyAt: T0 + 100 * S }), ready("old", T0, { lastBusyAt: T0 + 10 * S })];
    const s = settings({ minHosts: 1, maxHosts: 3 });
    expect(others(decide(input({ settings: s, hosts, now: T0 + 1000 * S })))).toEqual(["drain:old:idle"]);
    expect(others(decide(input({ settings: settings({ maxHosts: 3 }), hosts, now: T0 + 1000 * S })))).toEqual(["drain:old:idle", "drain:new:idle"]);
  });
});

describe("decide: min_hosts and buffer_hosts", () => {
  it("keeps min_hosts warm: launches them with no work and never drains below", () => {
    const s = settings({ minHosts: 1 });
    expect(decide(input({ settings: s }))).toEqual([{ kind: "launch", count: 1, reason: expect.stringContaining("min_hosts 1") }]);
    expect(decide(input({ settings: s, hosts: [ready("a", T0)], now: T0 + 3600 * S }))).toEqual([]);
    // A booting host counts toward min_hosts; a draining one does not.
    expect(decide(input({ settings: settings({ minHosts: 2 }), hosts: [booting("a", T0)] }))).toMatchObject([{ kind: "launch", count: 1 }]);
    expect(launched(decide(input({ settings: s, hosts: [ready("a", T0, { state: "draining", assigned: 1 })] })))).toBe(1);
  });

  it("keeps buffer_hosts of spare capacity beyond the current work", () => {
    const s = settings({ bufferHosts: 1, maxHosts: 3 });
    // No work, no host: one spare host.
    expect(launched(decide(input({ settings: s })))).toBe(1);
    // One host, busy: it is not spare, so one more.
    expect(launched(decide(input({ settings: s, hosts: [ready("a", T0, { assigned: 1, lastBusyAt: T0 })] })))).toBe(1);
    // One queued job: one host for it plus one spare.
    expect(launched(decide(input({ settings: s, queued: 1 })))).toBe(2);
    // The spare host is kept however long it idles; a second idle one is drained.
    expect(decide(input({ settings: s, hosts: [ready("a", T0)], now: T0 + 3600 * S }))).toEqual([]);
    expect(others(decide(input({ settings: s, hosts: [ready("a", T0), ready("b", T0 + S)], now: T0 + 3600 * S })))).toEqual(["drain:a:idle"]);
    // Never past max_hosts for the buffer.
    expect(decide(input({ settings: settings({ bufferHosts: 1, maxHosts: 1 }), hosts: [ready("a", T0, { assigned: 1, lastBusyAt: T0 })] }))).toEqual([]);
  });
});

describe("decide: settings shrink below the hosts", () => {
  it("drains idle hosts first, then ends booting ones, then drains busy ones, and launches nothing", () => {
    const hosts = [
      ready("busy2", T0, { assigned: 2, slots: 2, lastBusyAt: T0 + 50 * S }),
      ready("busy1", T0, { assigned: 1, slots: 2, lastBusyAt: T0 + 50 * S }),
      booting("boot", T0 + 40 * S),
      ready("idle", T0, { lastBusyAt: T0 + 45 * S }),
    ];
    const now = T0 + 50 * S; // "idle" is idle for 5 s only: over-max does not wait for the window.
    expect(others(decide(input({ settings: settings({ maxHosts: 3 }), hosts, queued: 5, now })))).toEqual(["drain:idle:over-max"]);
    // Among booting hosts, the latest launched goes first (the least boot time paid for).
    const two = [booting("early", T0), booting("late", T0 + 30 * S)];
    expect(others(decide(input({ settings: settings({ maxHosts: 1 }), hosts: two, queued: 5, now })))).toEqual(["terminate:late:over-max"]);
    expect(decide(input({ settings: settings({ maxHosts: 1 }), hosts, queued: 5, now }))).toEqual([
      { kind: "drain", instanceId: "idle", reason: "over-max" },
      { kind: "terminate", instanceId: "boot", reason: "over-max" },
      { kind: "drain", instanceId: "busy1", reason: "over-max" },
    ]);
  });
});

describe("backoffMs", () => {
  it("doubles from 5 s up to 5 min, deterministically", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map(backoffMs)).toEqual([0, 5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(backoffMs(1000)).toBe(BACKOFF_MAX_MS);
    expect(backoffMs(-1)).toBe(0);
    expect(backoffMs(Number.NaN)).toBe(0);
  });
});

describe("validateScaling", () => {
  it("accepts the defaults", () => {
    expect(validateScaling(DEFAULT_SCALING)).toEqual([]);
    expect(
      validateScaling(settings({ minHosts: 100, maxHosts: 100, bufferHosts: 100, bootTimeoutSeconds: 30, slotsPerHost: 64, scaledownWindowSeconds: 0 })),
    ).toEqual([]);
  });

  it.each([
    [{ minHosts: 3, maxHosts: 2 }, "min_hosts (3) must not exceed max_hosts (2)"],
    [{ bufferHosts: 3 }, "buffer_hosts (3) must not exceed max_hosts (2)"],
    [{ maxHosts: 101 }, "max_hosts must be an integer from 0 to 100 (got 101)"],
    [{ minHosts: -1 }, "min_hosts must be an integer from 0 to 100 (got -1)"],
    [{ maxHosts: 1.5 }, "max_hosts must be an integer from 0 to 100 (got 1.5)"],
    [{ scaledownWindowSeconds: -1 }, "scaledown_window_seconds must be 0 or more (got -1)"],
    [{ scaledownWindowSeconds: Number.NaN }, "scaledown_window_seconds must be 0 or more (got NaN)"],
    [{ bootTimeoutSeconds: 29 }, "boot_timeout_seconds must be an integer from 30 to 3600 (got 29)"],
    [{ bootTimeoutSeconds: 3601 }, "boot_timeout_seconds must be an integer from 30 to 3600 (got 3601)"],
    [{ slotsPerHost: 0 }, "slots_per_host must be an integer from 1 to 64 (got 0)"],
    [{ slotsPerHost: 65 }, "slots_per_host must be an integer from 1 to 64 (got 65)"],
  ] as [Partial<ScalingSettings>, string][])("refuses %j", (over, problem) => {
    expect(validateScaling(settings(over))).toContain(problem);
  });
});
