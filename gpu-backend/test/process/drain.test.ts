// Drain on SIGTERM, with the real process: stop taking jobs, hand back what has not started,
// let the running job finish (or hand it back when the grace period ends), exit 0.
import { describe, it } from "vitest";
import { startEmulator } from "../../emulator/index.ts";
import { FakeEdge } from "../support/fake-edge.ts";
import { comfyDirsEnv, TEST_ENV, waitFor } from "../support/harness.ts";
import { spawnService } from "../support/spawn-service.ts";
import { failing, gated, minimal } from "../support/workflows.ts";

async function world(env: Record<string, string>, onTestFinished: (fn: () => Promise<void>) => void) {
  const emulator = await startEmulator({ port: 0, stepMs: 5 });
  const edge = await FakeEdge.start();
  onTestFinished(async () => {
    await edge.close();
    await emulator.close();
  });
  const service = spawnService({ ...edge.hostEnv(), ...TEST_ENV, LOG_LEVEL: "info", COMFY_URL: emulator.url, ...comfyDirsEnv(emulator), ...env });
  const url = await service.url();
  await waitFor(async () => (await fetch(`${url}/health`)).status === 200, 10_000, "service healthy");
  return { emulator, edge, service, url };
}

describe("drain on SIGTERM", () => {
  it("hands back the queued job at once, lets the running one finish, refuses new work, exits 0", async ({ expect, onTestFinished }) => {
    const { edge, service, url, emulator } = await world({ DRAIN_GRACE_MS: "10000" }, onTestFinished);
    const running = edge.newJob(gated("running"));
    const queued = edge.newJob(minimal("queued"));
    await edge.dispatch(url, running);
    await edge.waitForEvent((e) => e.job_id === running.job_id && e.type === "job.started");
    await edge.dispatch(url, queued);
    await edge.waitForHeartbeat((b) => b.jobs.some((j) => j.job_id === queued.job_id && j.state === "queued"));

    service.child.kill("SIGTERM");
    const handedBack = await edge.waitForTerminal(queued.job_id);
    expect(handedBack).toMatchObject({ type: "job.failed", error: { code: "host_draining" } });
    const late = await edge.dispatch(url, edge.newJob(minimal("late")));
    expect([late.status, late.json.type]).toEqual([503, "https://comfyui-saas.dev/problems/host-draining"]);
    // The running job is let finish within the grace period.
    emulator.openGate("running");
    expect(await edge.waitForTerminal(running.job_id)).toMatchObject({ type: "job.succeeded" });
    expect(await service.exited).toBe(0);
    // The edge heard that the host was draining, and that it ended holding nothing.
    expect(edge.heartbeats.some((b) => b.draining)).toBe(true);
    expect(edge.heartbeats.at(-1)).toMatchObject({ draining: true, jobs: [], free_slots: 0 });
    expect(service.lines.find((l) => l.event === "drain_finished")).toMatchObject({ finished: "all_done" });
  });

  it("interrupts and hands back a job still running when the grace period ends, then exits 0", async ({ expect, onTestFinished }) => {
    const { edge, service, url, emulator } = await world({ DRAIN_GRACE_MS: "400" }, onTestFinished);
    const req = edge.newJob(failing("HangEmu"));
    await edge.dispatch(url, req);
    const started = await edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.started");
    service.child.kill("SIGTERM");
    expect(await edge.waitForTerminal(req.job_id)).toMatchObject({ type: "job.failed", error: { code: "host_draining" } });
    expect(await service.exited).toBe(0);
    if (started.type !== "job.started") throw new Error("unreachable");
    const history = (await (await fetch(`${emulator.url}/history/${started.prompt_id}`)).json()) as Record<string, { status: { messages: [string][] } }>;
    expect(history[started.prompt_id]?.status.messages.map(([m]) => m)).toContain("execution_interrupted");
    expect(service.lines.find((l) => l.event === "drain_finished")).toMatchObject({ finished: "handed_back" });
  });
});
