// Sampler previews reach the gpu-backend as ComfyUI sends them (binary WebSocket frames, with
// metadata since the backend announces supports_preview_metadata) and the newest one is kept
// on the job while it is held.
import { describe, it } from "vitest";
import { startHarness, waitFor } from "../support/harness.ts";

const sampledThenGated = (gate: string) => ({
  "1": { class_type: "EmptyImage", inputs: { width: 64, height: 32, batch_size: 1, color: 0x204080 } },
  "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed: 3, steps: 4, denoise: 1, step_ms: 0 } },
  "3": { class_type: "GateEmu", inputs: { image: ["2", 0], name: gate, step_ms: 0 } },
  "4": { class_type: "SaveImage", inputs: { images: ["3", 0], filename_prefix: "previewed" } },
});

describe("previews", () => {
  it("keeps the newest sampler preview of a running job, a JPEG from its own prompt", async ({ expect }) => {
    const h = await startHarness({ emulator: { previewMethod: "auto", previewSize: 16 } });
    const req = h.edge.newJob(sampledThenGated("preview"));
    await h.edge.dispatch(h.service.url, req);
    // The sampler's 4 steps are done once its last progress arrived; the gate holds the job.
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.progress" && e.progress.value === 4 && e.progress.max === 4);
    const preview = await waitFor(() => h.service.manager.latestPreview(req.job_id), 10_000, "a preview");
    expect(preview.contentType).toBe("image/jpeg");
    expect([...preview.bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(preview.promptId).toBe(h.service.manager.list().find((j) => j.ref.job_id === req.job_id)?.promptId);
    expect(preview.nodeId).toBe("2");
    h.emulator.openGate("preview");
    expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
  });

  it("without --preview-method the job has none", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(sampledThenGated("none"));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.progress" && e.progress.value === 4 && e.progress.max === 4);
    expect(h.service.manager.latestPreview(req.job_id)).toBeUndefined();
    h.emulator.openGate("none");
    expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
  });
});
