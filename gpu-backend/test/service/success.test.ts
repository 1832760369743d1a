// The happy path through real processes: dispatch → inputs → ComfyUI → outputs uploaded → one
// job.succeeded, with progress on the way and every event in seq order.
import { describe, it } from "vitest";
import { sha256 } from "../support/fake-edge.ts";
import { comfyHistoryAll, startHarness } from "../support/harness.ts";
import { invert, minimal, multiOutput, png, sampler } from "../support/workflows.ts";

describe("a job that succeeds", () => {
  it("reports started, progress and succeeded, uploading the output before reporting it", async ({ expect }) => {
    const { edge, service, emulator } = await startHarness();
    const req = edge.newJob(sampler(6, 10));
    const reply = await edge.dispatch(service.url, req);
    expect(reply.status).toBe(202);
    expect(reply.json).toEqual({ accepted: true, held: 1 });

    const terminal = await edge.waitForTerminal(req.job_id);
    expect(terminal.type).toBe("job.succeeded");
    const events = edge.eventsFor(req.job_id, { appliedOnly: true });
    // Sent one at a time, in seq order: started first, succeeded last, progress in between, and
    // job.executed (the GPU is free; best effort: an unsent one is dropped once the terminal event
    // is queued, which frees the slot too) after the last progress when it was sent.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("job.started");
    expect(types.at(-1)).toBe("job.succeeded");
    expect(types.slice(1, -1).every((t) => t === "job.progress" || t === "job.executed")).toBe(true);
    if (types.includes("job.executed")) expect(types.indexOf("job.executed")).toBe(types.length - 2);
    const progress = events.filter((e) => e.type === "job.progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ progress: { max: 6, node: "2" } });

    if (terminal.type !== "job.succeeded") throw new Error("unreachable");
    expect(terminal.outputs).toHaveLength(1);
    const [out] = terminal.outputs;
    const stored = edge.outputs.get(req.job_id)?.get(out!.name);
    expect(stored?.contentType).toBe("image/png");
    expect(stored?.manifest).toMatchObject({ method: "PUT", node_id: "3", kind: "images", size: stored!.bytes.length });
    expect(out).toMatchObject({ content_type: "image/png", node_id: "3", kind: "images", size: stored!.bytes.length, sha256: sha256(stored!.bytes) });
    // Where the attempt's time went here, every step it passed (src/jobs/spans.ts); 6 steps of 10 ms
    // ran. No `upload`: the only output travelled with this event, in one call.
    expect(Object.keys(terminal.spans ?? {}).sort()).toEqual(["accept", "collect", "comfy_queue", "execution", "prepare", "submit"]);
    expect(edge.requests.events).toBe(events.length - 1);
    expect(terminal.spans!.execution).toBeGreaterThanOrEqual(60);
    expect(Object.values(terminal.spans!).every((ms) => ms >= 0)).toBe(true);
    // The file was written into the job's own namespace, and deleted once it was uploaded.
    const started = events[0]!;
    if (started.type !== "job.started") throw new Error("unreachable");
    const history = (await (await fetch(`${emulator.url}/history/${started.prompt_id}`)).json()) as Record<
      string,
      { outputs: Record<string, { images: Array<{ filename: string; subfolder: string }> }> }
    >;
    const image = history[started.prompt_id]!.outputs["3"]!.images[0]!;
    expect(image.subfolder).toMatch(/^saas\/job_[a-z0-9_-]+-a1-[0-9a-f]{8}$/);
    expect(image.filename).toBe("sampled_00001_.png");
    const viewed = await fetch(`${emulator.url}/view?filename=${image.filename}&subfolder=${encodeURIComponent(image.subfolder)}`);
    expect(viewed.status).toBe(404);
    expect(stored!.bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    // What the design promises about arrivals, and nothing more: `job.executed` (the GPU is free)
    // and the output upload run concurrently, so either may reach the edge first.
    const arrivals = edge.arrivals.filter((a) => a.includes(req.job_id));
    expect(arrivals[0]).toBe(`event ${req.job_id} job.started`);
    expect(arrivals.at(-1)).toBe(`event ${req.job_id} job.succeeded`);
    expect(arrivals.filter((a) => a === `output ${req.job_id}/${out!.name}`)).toHaveLength(1);
    if (arrivals.includes(`event ${req.job_id} job.executed`)) {
      expect(arrivals.indexOf(`event ${req.job_id} job.executed`)).toBeGreaterThan(arrivals.findLastIndex((a) => a.endsWith(" job.progress")));
    }
    expect(arrivals.indexOf(`output ${req.job_id}/${out!.name}`)).toBeLessThan(arrivals.length - 1);
    expect(await service.manager.waitIdle(10_000)).toBe(true);
  });

  it("reports job.executed (the GPU is free) while its outputs are still uploading, and no progress after it", async ({ expect }) => {
    const { edge, service } = await startHarness();
    const release = edge.holdUploads();
    // Several outputs: the first ones upload on their own (the last one would carry the end).
    const req = edge.newJob(multiOutput());
    expect((await edge.dispatch(service.url, req)).status).toBe(202);
    await edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.executed");
    // The upload is held, so the job cannot have ended; the host has freed its GPU slot.
    expect(edge.terminalsFor(req.job_id)).toEqual([]);
    expect(service.manager.busy).toBe(0);
    release();
    expect((await edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
    const types = edge.eventsFor(req.job_id, { appliedOnly: true }).map((e) => e.type);
    expect(types.slice(types.indexOf("job.executed") + 1)).toEqual(["job.succeeded"]);
  });

  it("collects every output of any node and key, including a non-image file", async ({ expect }) => {
    const { edge, service } = await startHarness();
    const req = edge.newJob(multiOutput());
    expect((await edge.dispatch(service.url, req)).status).toBe(202);
    const terminal = await edge.waitForTerminal(req.job_id);
    if (terminal.type !== "job.succeeded") throw new Error(`expected success, got ${JSON.stringify(terminal)}`);
    const byKind = terminal.outputs.map((o) => `${o.node_id}/${o.kind}/${o.content_type}`).sort();
    expect(byKind).toEqual(["2/images/image/png", "2/images/image/png", "3/images/image/png", "3/images/image/png", "5/audio/audio/x-wav"]);
    const names = terminal.outputs.map((o) => o.name);
    expect(new Set(names).size).toBe(5);
    const wav = terminal.outputs.find((o) => o.kind === "audio")!;
    expect(wav.name).toMatch(/^ComfyUI_00001_\.wav$/);
    expect(edge.outputs.get(req.job_id)?.get(wav.name)?.bytes.subarray(0, 4).toString("latin1")).toBe("RIFF");
    for (const o of terminal.outputs) expect(edge.outputs.get(req.job_id)?.get(o.name)?.bytes.length).toBe(o.size);
  });

  it("fetches inputs from the edge only, uploads them to ComfyUI and wires them into LoadImage", async ({ expect }) => {
    const { edge, service } = await startHarness();
    const base = edge.newJob(invert());
    const input = edge.addInput(base.job_id, "in1", png(4, 3, [10, 20, 30]), { node_id: "1", input_name: "image" }, "../../etc/photo.png");
    const req = { ...base, inputs: [input] };
    expect((await edge.dispatch(service.url, req)).status).toBe(202);
    const terminal = await edge.waitForTerminal(req.job_id);
    if (terminal.type !== "job.succeeded") throw new Error(`expected success, got ${JSON.stringify(terminal)}`);
    expect(edge.inputFetches).toEqual([`${req.job_id}/in1`]);
    const out = edge.outputs.get(req.job_id)!.get(terminal.outputs[0]!.name)!;
    // ImageInvert of (10,20,30) is (245,235,225): the uploaded input really was what ran.
    const { decodePng } = await import("../../emulator/media/png.ts");
    const img = decodePng(out.bytes);
    expect([img.width, img.height]).toEqual([4, 3]);
    expect(Array.from(img.data.subarray(0, 3))).toEqual([245, 235, 225]);
  });

  it("is idempotent on (job, attempt, lease): a repeated dispatch does not run twice", async ({ expect }) => {
    const { edge, service, emulator } = await startHarness();
    const req = edge.newJob(minimal("once"));
    const [a, b] = await Promise.all([edge.dispatch(service.url, req), edge.dispatch(service.url, req)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    await edge.waitForTerminal(req.job_id);
    expect(await service.manager.waitIdle(10_000)).toBe(true);
    const again = await edge.dispatch(service.url, req);
    expect(again.status).toBe(202);
    // A dispatch that starts a run holds the job before it answers: nothing was started.
    expect(service.manager.held).toBe(0);
    expect(edge.terminalsFor(req.job_id)).toHaveLength(1);
    // ComfyUI ran one prompt.
    expect(Object.keys(await comfyHistoryAll(emulator))).toHaveLength(1);
  });
});
