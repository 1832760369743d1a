// Deadline and hang: a job running past deadline_ms is interrupted and fails with `timeout`; a
// node that hangs without a single event trips stuck detection (WebSocket reconnect + /queue
// check) but is not mistaken for a lost ComfyUI — the deadline still decides.
import { describe, it } from "vitest";
import { comfyHistory, comfyQueue, startHarness, waitFor } from "../support/harness.ts";
import { failing, minimal, sampler } from "../support/workflows.ts";

describe("deadline", () => {
  it("interrupts a job that runs past its deadline and fails it with timeout", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(sampler(1000, 10), { deadline_ms: 1_000 });
    await h.edge.dispatch(h.service.url, req);
    const terminal = await h.edge.waitForTerminal(req.job_id);
    if (terminal.type !== "job.failed") throw new Error(`expected failure, got ${terminal.type}`);
    expect(terminal.error.code).toBe("timeout");
    const promptId = h.edge.eventsFor(req.job_id).find((e) => e.type === "job.started");
    if (promptId?.type !== "job.started") throw new Error("no job.started");
    const history = (await comfyHistory(h.emulator, promptId.prompt_id)) as { status: { messages: [string, unknown][] } };
    expect(history.status.messages.map(([m]) => m)).toContain("execution_interrupted");
    expect(await comfyQueue(h.emulator)).toEqual({ running: [], pending: [] });
  });

  it("counts the deadline from execution start, not from dispatch (queue time is free)", async ({ expect }) => {
    const h = await startHarness();
    const first = h.edge.newJob(sampler(120, 10, "first"));
    const second = h.edge.newJob(minimal("second"), { deadline_ms: 1_000 });
    await h.edge.dispatch(h.service.url, first);
    await h.edge.dispatch(h.service.url, second);
    // `second` waits ≈1.2 s behind `first` — longer than its deadline — and still succeeds.
    expect((await h.edge.waitForTerminal(first.job_id)).type).toBe("job.succeeded");
    expect((await h.edge.waitForTerminal(second.job_id)).type).toBe("job.succeeded");
  });

  it("a hanging node trips stuck detection (reconnect + check) and then the deadline, not host_error", async ({ expect }) => {
    const h = await startHarness({ env: { STUCK_TIMEOUT_MS: "300" } });
    // The deadline is ten times the stuck timeout: stuck detection surely comes first.
    const req = h.edge.newJob(failing("HangEmu"), { deadline_ms: 3_000 });
    await h.edge.dispatch(h.service.url, req);
    await waitFor(() => h.logs.some((l) => l.includes('"event":"prompt_stuck"')), 5_000, "stuck detection");
    await waitFor(() => h.logs.some((l) => l.includes('"event":"comfy_reconnected"')), 5_000, "WebSocket reconnect");
    const terminal = await h.edge.waitForTerminal(req.job_id);
    if (terminal.type !== "job.failed") throw new Error(`expected failure, got ${terminal.type}`);
    expect(terminal.error.code).toBe("timeout");
  });
});
