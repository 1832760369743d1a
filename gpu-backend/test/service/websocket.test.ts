// The WebSocket to ComfyUI breaks mid-job. The result must still be reported, exactly once:
// after a reset the follower reconnects and re-checks; after a silent drop, stuck detection
// reconnects — and when the dead connection's late close unroutes the new socket (ComfyUI's
// reconnect pitfall), the /queue + /history poll still finds the end.
import { describe, it } from "vitest";
import { startHarness, waitFor } from "../support/harness.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { gated } from "../support/workflows.ts";

async function behindProxy(env: Record<string, string>) {
  let proxy: TcpProxy | undefined;
  const h = await startHarness({
    env,
    comfyUrl: async (emulator) => {
      proxy = await TcpProxy.start(emulator.port);
      return proxy.url;
    },
  });
  return { ...h, proxy: proxy! };
}

describe("WebSocket dropped mid-job", () => {
  it("reset connection: reconnects, and the job is reported succeeded exactly once", async ({ expect, onTestFinished }) => {
    const h = await behindProxy({});
    onTestFinished(() => h.proxy.close());
    const req = h.edge.newJob(gated("reset", { progressMs: 15 }));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.progress");
    expect(h.proxy.dropWebSockets()).toBe(1);
    // The job ends only once the host is connected again.
    await waitFor(() => h.proxy.wsConnections >= 2, 10_000, "a new WebSocket");
    h.emulator.openGate("reset");
    const terminal = await h.edge.waitForTerminal(req.job_id);
    expect(terminal.type).toBe("job.succeeded");
    expect(h.proxy.wsConnections).toBeGreaterThanOrEqual(2);
    // Once the job is no longer held its event stream is closed: nothing more can arrive.
    expect(await h.service.manager.waitIdle(10_000)).toBe(true);
    const received = h.edge.eventsFor(req.job_id).filter((e) => e.type === "job.succeeded");
    expect(received).toHaveLength(1);
    const seqs = h.edge.eventsFor(req.job_id).map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("silent drop + late close of the old socket (the reconnect pitfall): still reported exactly once", async ({ expect, onTestFinished }) => {
    const h = await behindProxy({ STUCK_TIMEOUT_MS: "300" });
    onTestFinished(() => h.proxy.close());
    // Held at a gate (with progress every 15 ms, so a routed socket is never silent) until the
    // whole sequence has played out: the first reconnect, the late close of the old socket (which
    // unroutes the new one), and a second reconnect.
    const req = h.edge.newJob(gated("ws", { progressMs: 15 }));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.progress");
    expect(h.proxy.silenceWebSockets(500)).toBe(1);
    await waitFor(
      () => h.logs.filter((l) => l.includes('"event":"prompt_stuck"')).length >= 2 && h.proxy.wsConnections >= 3,
      15_000,
      "two stuck detections and reconnects",
    );
    h.emulator.openGate("ws");
    const terminal = await h.edge.waitForTerminal(req.job_id);
    expect(terminal.type).toBe("job.succeeded");
    // The first reconnect worked until the old socket's late close unrouted it; the silence that
    // followed was detected again and fixed by another reconnect.
    expect(h.logs.filter((l) => l.includes('"event":"prompt_stuck"')).length).toBeGreaterThanOrEqual(2);
    expect(h.proxy.wsConnections).toBeGreaterThanOrEqual(3);
    // Once the job is no longer held its event stream is closed: nothing more can arrive.
    expect(await h.service.manager.waitIdle(10_000)).toBe(true);
    expect(h.edge.eventsFor(req.job_id).filter((e) => e.type === "job.succeeded")).toHaveLength(1);
    expect(h.edge.outputs.get(req.job_id)?.size).toBe(1);
  });
});
