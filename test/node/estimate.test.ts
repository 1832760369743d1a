// The start and finish estimates (src/dispatch/estimate.ts) on small pools worked out by hand.
import { describe, expect, it } from "vitest";
import { estimateQueue, MAX_ESTIMATED_POSITION } from "../../src/dispatch/estimate.ts";

describe("estimateQueue", () => {
  it("has nothing to say without hosts", () => {
    expect(estimateQueue([], 1000, 0, 5)).toBeUndefined();
  });

  it("starts jobs at once while a host has free dispatch slots, then as GPUs release", () => {
    // One GPU, 3 dispatch slots, idle; 10 s per job, 1 s upload.
    const r = estimateQueue([{ slots: 1, dispatchSlots: 3, heldElapsedMs: [] }], 10_000, 1_000, 5)!;
    expect(r.queued.map((e) => e.startMs)).toEqual([0, 0, 0, 10_000, 20_000]);
    expect(r.queued.map((e) => e.finishMs)).toEqual([11_000, 21_000, 31_000, 41_000, 51_000]);
  });

  it("counts the work a host already holds: the running job's remaining time and the prefetched ones behind it", () => {
    // Running for 4 s (6 s left), one prefetched; 3 dispatch slots → one free now.
    const r = estimateQueue([{ slots: 1, dispatchSlots: 3, heldElapsedMs: [4_000, 1_000] }], 10_000, 0, 3)!;
    expect(r.held[0]).toEqual([6_000, 16_000]);
    expect(r.queued.map((e) => [e.startMs, e.finishMs])).toEqual([
      [0, 26_000],
      [6_000, 36_000],
      [16_000, 46_000],
    ]);
    // A job past its expected time is treated as ending now.
    expect(estimateQueue([{ slots: 1, dispatchSlots: 1, heldElapsedMs: [30_000] }], 10_000, 0, 1)!.queued[0]!.startMs).toBe(0);
  });

  it("spreads the queue over hosts, earliest opening first", () => {
    const hosts = [
      { slots: 1, dispatchSlots: 1, heldElapsedMs: [0] },
      { slots: 1, dispatchSlots: 1, heldElapsedMs: [5_000] },
    ];
    const r = estimateQueue(hosts, 10_000, 0, 4)!;
    expect(r.queued.map((e) => e.startMs)).toEqual([5_000, 10_000, 15_000, 20_000]);
  });

  it("is bounded", () => {
    const r = estimateQueue([{ slots: 1, dispatchSlots: 1, heldElapsedMs: [] }], 1, 0, MAX_ESTIMATED_POSITION * 10)!;
    expect(r.queued).toHaveLength(MAX_ESTIMATED_POSITION);
  });
});
