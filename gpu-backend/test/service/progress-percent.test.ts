// job.progress carries the prompt's overall percent and the class of the node it is about
// (issue 15), computed by the host from ComfyUI's WebSocket messages: ComfyUI's default graph
// (7 nodes, the sampler 5th) on the emulator, run twice so the second run has cached nodes.
import { describe, it } from "vitest";
import type { JobEvent } from "../../../src/protocol/messages.ts";
import { defaultGraph, installModels } from "../emulator/model-support.ts";
import { comfyHistory, startHarness } from "../support/harness.ts";

const STEPS = 8;
type Progress = Extract<JobEvent, { type: "job.progress" }>;

describe("progress percent", () => {
  it("is monotone, below 100, names the KSampler, and counts the nodes done or cached before it", async ({ expect }) => {
    const h = await startHarness({
      beforeService: async (emulator) => installModels(emulator, { "checkpoints/sd15.safetensors": { architecture: "stable-diffusion-v1", sizeBytes: 1_000 } }),
    });
    // The second job differs only in its seed: ComfyUI answers the 4 nodes before the sampler from cache.
    for (const seed of [1, 2]) {
      const req = h.edge.newJob(defaultGraph({ steps: STEPS, seed }));
      await h.edge.dispatch(h.service.url, req);
      expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
      const events = h.edge.eventsFor(req.job_id, { appliedOnly: true });
      const progress = events.filter((e): e is Progress => e.type === "job.progress").map((e) => e.progress);
      expect(progress.length).toBeGreaterThan(0);
      const percents = progress.map((p) => p.percent ?? Number.NaN);
      for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1]!);
      for (const p of progress) {
        expect(p).toMatchObject({ node: "3", node_type: "KSampler", max: STEPS });
        expect(p.percent).toBeGreaterThanOrEqual(0);
        expect(p.percent).toBeLessThan(100);
        // Loader, two prompts and the latent are done (run or cached); the sampler is value/max of its share.
        expect(Math.abs(p.percent! - (100 * (4 + p.value / STEPS)) / 7)).toBeLessThan(0.11);
      }
      if (seed === 2) {
        const started = events[0];
        if (started?.type !== "job.started") throw new Error(`expected job.started first, got ${JSON.stringify(started)}`);
        const entry = (await comfyHistory(h.emulator, started.prompt_id)) as { status: { messages: Array<[string, { nodes?: string[] }]> } };
        expect(entry.status.messages.find(([type]) => type === "execution_cached")?.[1].nodes?.sort()).toEqual(["4", "5", "6", "7"]);
      }
    }
  });
});
