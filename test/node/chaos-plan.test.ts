// The chaos plan (bench/chaos/plan.ts) is a function of its seed: the same seed gives the same
// jobs, faults and outages, another seed another plan; every fault kind comes up in a short run;
// a host takes one fault at a time and one host is always left alone.
import { describe, it } from "vitest";
import { FAULT_KINDS, makePlan, type PlanOptions } from "../../bench/chaos/plan.ts";
import { planFor } from "../../bench/chaos/run.ts";
import { nonceOfPrefix, prefixOf, workflowFor } from "../../bench/chaos/workflows.ts";

const options = (seed: number, minutes = 1.25, jobs = 80): PlanOptions => ({
  seed,
  jobs,
  minutes,
  hosts: 3,
  tenants: 3,
  usersPerTenant: 3,
  leaseSeconds: 4,
  faultEveryMs: 8_000,
});

describe("the chaos plan", () => {
  it("is the same for the same seed and differs for another", ({ expect }) => {
    expect(makePlan(options(7))).toEqual(makePlan(options(7)));
    expect(makePlan(options(8)).faults).not.toEqual(makePlan(options(7)).faults);
    expect(makePlan(options(8)).jobs).not.toEqual(makePlan(options(7)).jobs);
  });

  it("puts every fault kind and receiver outages in the CI run's window", ({ expect }) => {
    const plan = planFor({ seed: 7, jobs: 80, minutes: 1.25 });
    expect(new Set(plan.faults.map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    expect(plan.outages.map((o) => o.receiver).sort()).toEqual([0, 1]);
    expect(plan.jobs).toHaveLength(80);
    for (const j of plan.jobs) expect(j.submitAtMs).toBeLessThanOrEqual(75_000);
  });

  it("gives a host one fault at a time and never faults every host at once", ({ expect }) => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const plan = makePlan(options(seed, 30, 1000));
      const spans = plan.faults.map((f) => ({ host: f.host, from: f.atMs, to: f.atMs + f.holdMs }));
      for (const a of spans) {
        const overlapping = spans.filter((b) => b !== a && b.from <= a.from && a.from < b.to + 8_000);
        expect(overlapping.filter((b) => b.host === a.host)).toEqual([]);
        expect(new Set(overlapping.map((b) => b.host)).size).toBeLessThan(2);
      }
    }
  });

  it("keeps receiver outages within three minutes and inside the window", ({ expect }) => {
    const plan = makePlan(options(3, 30, 1000));
    expect(plan.outages.length).toBe(6);
    for (const o of plan.outages) {
      expect(o.downMs).toBeLessThanOrEqual(180_000);
      expect(o.atMs + o.downMs).toBeLessThanOrEqual(30 * 60_000);
    }
  });

  it("names each job in its graph's SaveImage prefix, which the gpu-backend's namespace keeps", ({ expect }) => {
    const plan = makePlan(options(11));
    for (const job of plan.jobs) {
      const save = Object.values(workflowFor(job)).find((n) => n.class_type === "SaveImage")!;
      expect(save.inputs.filename_prefix).toBe(prefixOf(job.nonce));
      expect(nonceOfPrefix(`ns_0123/${prefixOf(job.nonce)}`)).toBe(job.nonce);
    }
    expect(new Set(plan.jobs.map((j) => j.nonce)).size).toBe(plan.jobs.length);
    expect(nonceOfPrefix("ns/ComfyUI")).toBeNull();
  });
});
