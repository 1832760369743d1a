// The chaos soak, short: `npm run chaos` with a fixed seed for about two minutes (80 jobs, every
// fault kind, both receivers down once), then the invariant checker. Real processes throughout:
// wrangler dev, three emulators and gpu-backends, TCP forwarders between them, webhook receivers.
// The long runs and their figures are in docs/reliability.md.
import { rmSync } from "node:fs";
import { describe, it } from "vitest";
import { checkStack } from "../../bench/chaos/check.ts";
import { FAULT_KINDS } from "../../bench/chaos/plan.ts";
import { runChaos } from "../../bench/chaos/run.ts";

describe("chaos soak (short, seed 7)", () => {
  it("keeps every promise while hosts die, stall and come back and receivers go down", { timeout: 900_000 }, async ({ expect }) => {
    // The checker also runs on its own: from the run folder and the admin token alone, against the
    // stack while it is still up (what `npm run chaos -- --check <folder>` does).
    let alone: Awaited<ReturnType<typeof checkStack>> | undefined;
    const result = await runChaos({
      seed: 7,
      jobs: 80,
      minutes: 1.25,
      hold: async (r, stack) => {
        alone = await checkStack(r.dir, stack.adminToken);
      },
    });
    const report = result.violations.map((v) => ({ ...v, history: v.job ? result.histories.get(v.job) : undefined }));
    expect(report).toEqual([]);
    for (const kind of FAULT_KINDS) expect(result.faults[kind], kind).toBeGreaterThan(0);
    expect(Object.keys(result.faults).filter((k) => k.startsWith("receiver-")).length).toBeGreaterThan(0);
    // Every outcome came up: the mix has failing graphs and cancellations.
    expect(Object.keys(result.figures.by_status).sort()).toEqual(["cancelled", "failed", "succeeded"]);
    expect(result.figures.jobs).toBe(80);
    expect(alone?.violations).toEqual([]);
    expect(alone?.figures).toEqual(result.figures);
    rmSync(result.dir, { recursive: true, force: true });
  });
});
