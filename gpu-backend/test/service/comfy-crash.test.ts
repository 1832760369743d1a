// ComfyUI lost mid-job: its in-memory queue dies with it, so the job fails with the retryable
// host_error (never hangs, never reports success), and once a ComfyUI answers again on the same
// address the host recovers and runs the next job. Here ComfyUI is the in-process emulator,
// crashed with its crash knob and started again by the test; supervisor.test.ts covers the case
// where gpu-backend restarts ComfyUI itself.
import { describe, it } from "vitest";
import { JOB_ERROR_CODES } from "../../../src/protocol/messages.ts";
import { type EmulatorHandle, startEmulator } from "../../emulator/index.ts";
import { startHarness, waitFor } from "../support/harness.ts";
import { failing, minimal } from "../support/workflows.ts";

describe("ComfyUI crash mid-job", () => {
  it("fails the job retryably with host_error, then recovers when ComfyUI is back", async ({ expect, onTestFinished }) => {
    const h = await startHarness({ env: { COMFY_LOST_TIMEOUT_MS: "600" } });
    const req = h.edge.newJob(failing("CrashEmu"));
    await h.edge.dispatch(h.service.url, req);
    await h.emulator.crashed;
    const terminal = await h.edge.waitForTerminal(req.job_id);
    if (terminal.type !== "job.failed") throw new Error(`expected failure, got ${terminal.type}`);
    expect(terminal.error.code).toBe("host_error");
    expect(JOB_ERROR_CODES.host_error.retryable).toBe(true);
    await waitFor(() => h.service.link.state !== "ready", 5_000, "link down");
    // While ComfyUI is down the host takes no jobs.
    const refused = await h.edge.dispatch(h.service.url, h.edge.newJob(minimal()));
    expect(refused.status).toBe(503);
    expect(refused.json.type).toBe("https://comfyui-saas.dev/problems/comfy-unavailable");

    // "Restart": a fresh ComfyUI on the same port and folders (empty queue, history and caches).
    const restarted: EmulatorHandle = await startEmulator({ port: h.emulator.port, stepMs: 5, baseDir: h.emulator.dirs.base });
    onTestFinished(() => restarted.close());
    await waitFor(() => h.service.link.state === "ready", 10_000, "link ready again");
    const next = h.edge.newJob(minimal("after"));
    expect((await h.edge.dispatch(h.service.url, next)).status).toBe(202);
    expect((await h.edge.waitForTerminal(next.job_id)).type).toBe("job.succeeded");
  });

  it("a restart noticed only on reconnect (quicker than the lost timeout) still fails the lost job", async ({ expect, onTestFinished }) => {
    // Lost timeout far away: the job can only be settled by the re-check after reconnecting.
    const h = await startHarness({ env: { COMFY_LOST_TIMEOUT_MS: "60000" } });
    const req = h.edge.newJob(failing("CrashEmu"));
    await h.edge.dispatch(h.service.url, req);
    await h.emulator.crashed;
    const restarted = await startEmulator({ port: h.emulator.port, stepMs: 5, baseDir: h.emulator.dirs.base });
    onTestFinished(() => restarted.close());
    const terminal = await h.edge.waitForTerminal(req.job_id);
    if (terminal.type !== "job.failed") throw new Error(`expected failure, got ${terminal.type}`);
    expect(terminal.error.code).toBe("host_error");
    expect(terminal.error.message).toMatch(/vanished/);
  });
});
