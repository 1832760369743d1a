// Sampler previews forwarded to the edge (issue 15): a KSampler job on the emulator started with
// `--preview-method auto` (one JPEG frame per step), through the real service to the fake edge,
// which checks each PUT's signature and manifest like the edge does. Counts are bounded by what
// the host guarantees (one upload in flight, one frame per step at most), never by timing.
import { describe, it } from "vitest";
import { edgePaths } from "../../../src/protocol/paths.ts";
import { defaultGraph, installModels } from "../emulator/model-support.ts";
import { sha256 } from "../support/fake-edge.ts";
import { type HarnessOptions, startHarness, waitFor } from "../support/harness.ts";

const STEPS = 12;
/** One preview per step, 20 ms apart: several frames per minimum interval of 50 ms. */
const withPreviews = (opts: HarnessOptions = {}) =>
  startHarness({
    ...opts,
    emulator: { previewMethod: "auto", stepMs: 20 },
    beforeService: async (emulator) => installModels(emulator, { "checkpoints/sd15.safetensors": { architecture: "stable-diffusion-v1", sizeBytes: 1_000 } }),
  });

const sent = async (h: Awaited<ReturnType<typeof withPreviews>>) => (await h.service.metrics.previewsSent.get()).values[0]?.value ?? 0;

describe("preview forwarding", () => {
  it("PUTs the latest frames while the job runs, signed, one at a time, none after job.succeeded", async ({ expect }) => {
    const h = await withPreviews();
    const req = h.edge.newJob(defaultGraph({ steps: STEPS }), { preview: { min_interval_ms: 50, max_bytes: 64 * 1024 } });
    expect((await h.edge.dispatch(h.service.url, req)).status).toBe(202);
    expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");

    const previews = h.edge.previewsFor(req.job_id);
    // The first frame goes at once; after it, at most one per step (a frame is sent once or replaced).
    expect(previews.length).toBeGreaterThanOrEqual(1);
    expect(previews.length).toBeLessThanOrEqual(STEPS);
    expect(h.edge.requests.preview).toBe(previews.length);
    expect(h.edge.rejected).toEqual([]);
    expect(h.edge.maxPreviewsInFlight).toBe(1);
    for (const p of previews) {
      expect(p.contentType).toBe("image/jpeg");
      expect([...p.bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
      expect(p.manifest).toEqual({
        job_id: req.job_id,
        attempt: req.attempt,
        lease_id: req.lease_id,
        host_id: h.edge.hostId,
        method: "PUT",
        path: edgePaths.preview(h.edge.hostId, req.job_id),
        content_type: "image/jpeg",
        size: p.bytes.length,
        sha256: sha256(p.bytes),
        node_id: "3",
      });
    }
    const arrivals = h.edge.arrivals.filter((a) => a.includes(req.job_id));
    expect(arrivals.lastIndexOf(`preview ${req.job_id}`)).toBeLessThan(arrivals.indexOf(`event ${req.job_id} job.succeeded`));
    expect(await sent(h)).toBe(previews.length);
  });

  it("sends one frame per min_interval_ms: with an interval longer than the job, only the first", async ({ expect }) => {
    const h = await withPreviews();
    const req = h.edge.newJob(defaultGraph({ steps: STEPS }), { preview: { min_interval_ms: 60_000, max_bytes: 64 * 1024 } });
    await h.edge.dispatch(h.service.url, req);
    expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
    expect(h.edge.previewsFor(req.job_id)).toHaveLength(1);
    expect(h.edge.requests.preview).toBe(1);
    expect(await sent(h)).toBe(1);
  });

  it("sends none when the dispatch has no preview terms, although ComfyUI sends previews", async ({ expect }) => {
    const h = await withPreviews();
    // A gate after the decode holds the job running until the host has seen a preview.
    const graph: Record<string, { class_type: string; inputs: Record<string, unknown> }> = defaultGraph({ steps: STEPS });
    graph["10"] = { class_type: "GateEmu", inputs: { image: ["8", 0], name: "no-terms", step_ms: 0 } };
    graph["9"]!.inputs.images = ["10", 0];
    const req = h.edge.newJob(graph);
    expect(req.preview).toBeUndefined();
    await h.edge.dispatch(h.service.url, req);
    await waitFor(() => h.service.manager.latestPreview(req.job_id), 10_000, "a preview at the host");
    h.emulator.openGate("no-terms");
    expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
    expect(h.edge.requests.preview).toBe(0);
    expect(await sent(h)).toBe(0);
    expect((await h.service.metrics.previewsDropped.get()).values).toEqual([]);
  });

  it("never holds up job.executed or the outputs; the terminal event waits for the upload in flight", async ({ expect }) => {
    // The held upload must outlive the whole test, not time out and let a second one start.
    const h = await withPreviews({ env: { PREVIEW_UPLOAD_TIMEOUT_MS: "60000" } });
    const release = h.edge.holdPreviews();
    const req = h.edge.newJob(defaultGraph({ steps: STEPS }), { preview: { min_interval_ms: 50, max_bytes: 64 * 1024 } });
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.executed");
    await h.edge.waitUntil(() => h.edge.outputs.get(req.job_id)?.size, 10_000, "the output uploaded");
    // Every frame came while the first upload was held: it is the only one ever started.
    expect([h.edge.requests.preview, h.edge.previewsInFlight]).toEqual([1, 1]);
    expect(h.edge.terminalsFor(req.job_id)).toEqual([]);
    release();
    expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
    expect(h.edge.previewsFor(req.job_id)).toHaveLength(1);
    expect(h.edge.requests.preview).toBe(1);
    const arrivals = h.edge.arrivals.filter((a) => a.includes(req.job_id));
    expect(arrivals.indexOf(`preview ${req.job_id}`)).toBeLessThan(arrivals.indexOf(`event ${req.job_id} job.succeeded`));
  });

  it.for([400, 409])("stops the job's previews after a %i, and the job goes on", async (status, { expect }) => {
    const h = await withPreviews();
    h.edge.fail("preview", status, 1);
    const req = h.edge.newJob(defaultGraph({ steps: STEPS }), { preview: { min_interval_ms: 50, max_bytes: 64 * 1024 } });
    await h.edge.dispatch(h.service.url, req);
    expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
    expect(h.edge.requests.preview).toBe(1);
    expect(h.edge.previewsFor(req.job_id)).toEqual([]);
    expect(h.logs.filter((l) => l.includes('"previews_stopped"'))).toHaveLength(1);
    const dropped = (await h.service.metrics.previewsDropped.get()).values.find((v) => v.labels.reason === (status === 409 ? "stale" : "rejected"));
    expect(dropped?.value).toBe(1);
  });
});
