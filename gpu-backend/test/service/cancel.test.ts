// Cancel: a queued prompt is deleted from ComfyUI's queue (which produces no event at all), a
// running one is interrupted by prompt id; either way `job.cancelled` comes only once ComfyUI
// confirms the prompt is gone.
import { describe, it } from "vitest";
import type { JobEvent } from "../../../src/protocol/messages.ts";
import { comfyHistory, comfyQueue, startHarness, waitFor } from "../support/harness.ts";
import { gated, minimal } from "../support/workflows.ts";

const promptIdOf = async (h: Awaited<ReturnType<typeof startHarness>>, jobId: string) => {
  const job = await waitFor(() => h.service.manager.list().find((j) => j.ref.job_id === jobId && j.submitted), 5_000, `${jobId} submitted`);
  return job.promptId;
};

describe("cancel", () => {
  it("a job queued in ComfyUI is deleted from the queue and reported cancelled", async ({ expect }) => {
    const h = await startHarness();
    const first = h.edge.newJob(gated("first"));
    const second = h.edge.newJob(minimal("second"));
    await h.edge.dispatch(h.service.url, first);
    await h.edge.waitForEvent((e) => e.job_id === first.job_id && e.type === "job.started");
    await h.edge.dispatch(h.service.url, second);
    const secondPrompt = await promptIdOf(h, second.job_id);
    expect((await comfyQueue(h.emulator)).pending).toEqual([secondPrompt]);

    const reply = await h.edge.cancel(h.service.url, second);
    expect(reply.status).toBe(202);
    const terminal = await h.edge.waitForTerminal(second.job_id);
    expect(terminal.type).toBe("job.cancelled");
    expect(h.edge.eventsFor(second.job_id).map((e) => e.type)).toEqual(["job.cancelled"]);
    const queue = await comfyQueue(h.emulator);
    expect(queue.pending).toEqual([]);
    expect(await comfyHistory(h.emulator, secondPrompt)).toBeUndefined();
    // The running job was not touched (the cancelled one is let go once its report is answered).
    await waitFor(() => h.service.manager.held === 1, 5_000, "the cancelled job let go");
    expect(h.edge.terminalsFor(first.job_id)).toEqual([]);
    expect(h.service.manager.list().map((j) => [j.ref.job_id, j.state])).toEqual([[first.job_id, "running"]]);
  });

  it("a running job is interrupted by prompt id and reported cancelled once ComfyUI confirms", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(gated("running", { progressMs: 10 }));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.progress");
    const promptId = await promptIdOf(h, req.job_id);
    expect((await h.edge.cancel(h.service.url, req)).status).toBe(202);
    const terminal = await h.edge.waitForTerminal(req.job_id);
    expect(terminal.type).toBe("job.cancelled");
    const history = (await comfyHistory(h.emulator, promptId)) as { status: { status_str: string; messages: [string, unknown][] } };
    expect(history.status.status_str).toBe("error");
    expect(history.status.messages.map(([m]) => m)).toContain("execution_interrupted");
    expect(h.edge.outputs.get(req.job_id)).toBeUndefined();
    await waitFor(() => h.service.manager.held === 0, 2_000, "slot freed");
  });

  it("a cancel in the heartbeat reply works like the signed cancel", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(gated("running"));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.started");
    h.edge.pendingCancel.push({ job_id: req.job_id, attempt: req.attempt, lease_id: req.lease_id });
    const terminal: JobEvent = await h.edge.waitForTerminal(req.job_id);
    expect(terminal.type).toBe("job.cancelled");
  });

  it("refuses a cancel for a job, attempt or lease it does not hold (404 problem)", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(gated("held"));
    await h.edge.dispatch(h.service.url, req);
    const unknown = await h.edge.cancel(h.service.url, { ...req, lease_id: "lease_someone_else" });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toBe("application/problem+json");
    expect(unknown.json.type).toBe("https://comfyui-saas.dev/problems/unknown-job");
    const mismatch = await h.edge.signedPost(
      h.service.url,
      `/v1/jobs/other_job/cancel`,
      JSON.stringify({ job_id: req.job_id, attempt: 1, lease_id: req.lease_id, reason: "user" }),
    );
    expect(mismatch.status).toBe(422);
    expect(h.edge.terminalsFor(req.job_id)).toEqual([]);
  });
});
