// The WebSocket to ComfyUI breaks mid-job. The result must still be reported, exactly once:
// after a reset the follower reconnects and re-checks; after a silent drop, stuck detection
// reconnects — and when the dead connection's late close unroutes the new socket (ComfyUI's
// reconnect pitfall), the /queue + /history poll still finds the end.
import { describe, it } from "vitest";
import { startHarness } from "../support/harness.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { sampler } from "../support/workflows.ts";

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
    const req = h.edge.newJob(sampler(40, 15));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.progress");
    expect(h.proxy.dropWebSockets()).toBe(1);
    const terminal = await h.edge.waitForTerminal(req.job_id);
    expect(terminal.type).toBe("job.succeeded");
    expect(h.proxy.wsConnections).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 400)); // a late duplicate would arrive by now
    const received = h.edge.eventsFor(req.job_id).filter((e) => e.type === "job.succeeded");
    expect(received).toHaveLength(1);
    const seqs = h.edge.eventsFor(req.job_id).map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("silent drop + late close of the old socket (the reconnect pitfall): still reported exactly once", async ({ expect, onTestFinished }) => {
    const h = await behindProxy({ STUCK_TIMEOUT_MS: "300" });
    onTestFinished(() => h.proxy.close());
    // Long enough (≈4.5 s) to outlast the first reconnect (≈1.3 s: 300 ms silence + 1 s close
    // wait) and the late close of the old socket (500 ms after that).
    const req = h.edge.newJob(sampler(300, 15));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.progress");
    expect(h.proxy.silenceWebSockets(500)).toBe(1);
    const terminal = await h.edge.waitForTerminal(req.job_id);
    expect(terminal.type).toBe("job.succeeded");
    // The first reconnect worked until the old socket's late close unrouted it; the silence that
    // followed was detected again and fixed by another reconnect.
    expect(h.logs.filter((l) => l.includes('"event":"prompt_stuck"')).length).toBeGreaterThanOrEqual(2);
    expect(h.proxy.wsConnections).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 400));
    expect(h.edge.eventsFor(req.job_id).filter((e) => e.type === "job.succeeded")).toHaveLength(1);
    expect(h.edge.outputs.get(req.job_id)?.size).toBe(1);
  });
});
