// No idle GPU: while one job runs, the next one's inputs are fetched and uploaded and its prompt
// already waits in ComfyUI's own queue, so ComfyUI starts it the moment the first ends. (How
// small the gap is belongs to the benchmark; this pins the mechanism.)
import { describe, it } from "vitest";
import { comfyQueue, startHarness, waitFor } from "../support/harness.ts";
import { gated, invert, png } from "../support/workflows.ts";

describe("prefetch", () => {
  it("queues the next job in ComfyUI, inputs uploaded, while the current one runs", async ({ expect }) => {
    const h = await startHarness({ env: { SLOTS: "1", PREFETCH: "1" } });
    const first = h.edge.newJob(gated("first"));
    await h.edge.dispatch(h.service.url, first);
    await h.edge.waitForEvent((e) => e.job_id === first.job_id && e.type === "job.started");
    const base = h.edge.newJob(invert());
    const second = { ...base, inputs: [h.edge.addInput(base.job_id, "img", png(2, 2, [1, 2, 3]), { node_id: "1", input_name: "image" })] };
    await h.edge.dispatch(h.service.url, second);

    const queued = await waitFor(
      async () => {
        const q = await comfyQueue(h.emulator);
        return q.pending.length === 1 ? q : undefined;
      },
      5_000,
      "second prompt waiting in ComfyUI",
    );
    expect(queued.running).toHaveLength(1);
    expect(h.edge.inputFetches).toEqual([`${second.job_id}/img`]);
    expect(h.edge.terminalsFor(first.job_id)).toEqual([]);
    const hb = await h.edge.waitForHeartbeat((b) => b.jobs.some((j) => j.job_id === second.job_id && j.state === "queued"));
    expect(hb.jobs.map((j) => `${j.job_id === first.job_id ? "first" : "second"}:${j.state}`).sort()).toEqual(["first:running", "second:queued"]);
    expect(hb.free_slots).toBe(0);

    h.emulator.openGate("first");
    expect((await h.edge.waitForTerminal(first.job_id)).type).toBe("job.succeeded");
    expect((await h.edge.waitForTerminal(second.job_id)).type).toBe("job.succeeded");
  });
});
