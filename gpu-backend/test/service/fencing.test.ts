// Leases and fencing: the host works on a job only while its (attempt, lease) is current. A 409
// from the edge, a revoke in the heartbeat reply or a newer attempt makes it drop the job
// silently — and stop the prompt in ComfyUI, so no GPU time goes to work nobody wants.
import { describe, it } from "vitest";
import { comfyHistory, comfyQueue, startHarness, waitFor } from "../support/harness.ts";
import { gated, minimal } from "../support/workflows.ts";

describe("leases and fencing", () => {
  it("a stale lease (409 on an event) makes the host drop the job and interrupt its prompt", async ({ expect }) => {
    const h = await startHarness();
    // Progress keeps flowing while it runs, so the host's next event meets the moved lease.
    const req = h.edge.newJob(gated("fenced", { progressMs: 10 }));
    await h.edge.dispatch(h.service.url, req);
    const started = await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.started");
    if (started.type !== "job.started") throw new Error("unreachable");
    h.edge.leases.set(req.job_id, { attempt: 2, lease_id: "lease_moved_on" }); // the edge re-dispatched elsewhere
    await waitFor(() => h.edge.events.some((e) => e.event.job_id === req.job_id && e.status === 409), 5_000, "a fenced event");
    await waitFor(() => h.service.manager.held === 0, 5_000, "job dropped");
    const history = (await comfyHistory(h.emulator, started.prompt_id)) as { status: { messages: [string, unknown][] } };
    expect(history.status.messages.map(([m]) => m)).toContain("execution_interrupted");
    // The job is no longer held, so its event stream is closed: whatever it sent is all it will
    // ever send. Nothing more was sent after the first 409: no retries, no terminal event.
    expect(h.edge.events.filter((e) => e.event.job_id === req.job_id && e.status === 409)).toHaveLength(1);
    expect(h.edge.events.filter((e) => e.event.job_id === req.job_id).at(-1)?.status).toBe(409);
    expect(h.edge.outputs.get(req.job_id)).toBeUndefined();
  });

  it("a job revoked in the heartbeat reply is dropped silently and leaves ComfyUI's queue", async ({ expect }) => {
    const h = await startHarness();
    const running = h.edge.newJob(gated("running"));
    const queued = h.edge.newJob(minimal("queued"));
    await h.edge.dispatch(h.service.url, running);
    await h.edge.waitForEvent((e) => e.job_id === running.job_id && e.type === "job.started");
    await h.edge.dispatch(h.service.url, queued);
    await waitFor(async () => (await comfyQueue(h.emulator)).pending.length === 1, 5_000, "second prompt queued");
    h.edge.pendingRevoke.push(
      { job_id: running.job_id, attempt: 1, lease_id: running.lease_id },
      { job_id: queued.job_id, attempt: 1, lease_id: queued.lease_id },
    );
    await waitFor(() => h.service.manager.held === 0, 5_000, "both dropped");
    expect(await comfyQueue(h.emulator)).toEqual({ running: [], pending: [] });
    expect(h.edge.terminalsFor(running.job_id)).toEqual([]);
    expect(h.edge.terminalsFor(queued.job_id)).toEqual([]);
    const hb = await h.edge.waitForHeartbeat((b) => b.jobs.length === 0 && b.free_slots === 3);
    expect(hb.jobs).toEqual([]);
  });

  it("a newer attempt replaces the held one; an older or same attempt with another lease is refused (409)", async ({ expect }) => {
    const h = await startHarness();
    const first = h.edge.newJob(gated("attempt-1"));
    await h.edge.dispatch(h.service.url, first);
    const firstStarted = await h.edge.waitForEvent((e) => e.job_id === first.job_id && e.type === "job.started");
    const second = h.edge.nextAttempt(first);
    const replaced = await h.edge.dispatch(h.service.url, { ...second, workflow: minimal("second") });
    expect(replaced.status).toBe(202);
    const terminal = await h.edge.waitForTerminal(first.job_id);
    expect(terminal).toMatchObject({ type: "job.succeeded", attempt: 2 });
    // Attempt 1 said nothing after it was replaced, and its prompt was interrupted.
    expect(h.edge.eventsFor(first.job_id).filter((e) => e.attempt === 1 && e.type !== "job.started" && e.type !== "job.progress")).toEqual([]);
    if (firstStarted.type !== "job.started") throw new Error("unreachable");
    await waitFor(async () => (await comfyHistory(h.emulator, firstStarted.prompt_id)) !== undefined, 5_000, "attempt 1 ended");

    const older = await h.edge.dispatch(h.service.url, first);
    expect([older.status, older.json.type]).toEqual([409, "https://comfyui-saas.dev/problems/stale-dispatch"]);
    const sameAttemptOtherLease = await h.edge.dispatch(h.service.url, { ...second, lease_id: "lease_other_one" });
    expect(sameAttemptOtherLease.status).toBe(409);
  });

  it("refuses work beyond SLOTS + PREFETCH with 409 host-full", async ({ expect }) => {
    const h = await startHarness({ env: { SLOTS: "1", PREFETCH: "1" } });
    const a = h.edge.newJob(gated("a"));
    const b = h.edge.newJob(gated("b"));
    const c = h.edge.newJob(minimal("c"));
    expect((await h.edge.dispatch(h.service.url, a)).json).toEqual({ accepted: true, held: 1 });
    expect((await h.edge.dispatch(h.service.url, b)).json).toEqual({ accepted: true, held: 2 });
    const full = await h.edge.dispatch(h.service.url, c);
    expect([full.status, full.json.type]).toEqual([409, "https://comfyui-saas.dev/problems/host-full"]);
  });
});
