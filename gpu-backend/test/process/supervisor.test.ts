// gpu-backend supervising ComfyUI itself (COMFY_COMMAND): here the command is the emulator's CLI,
// a real child process. It is started and probed on /system_stats; when it dies mid-job the job
// fails with the retryable host_error at once and the process is restarted; when it hangs
// (SIGSTOP: nothing answers, nothing closes) stuck detection and the lost timeout get it killed
// and restarted.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";
import { startService } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { FakeEdge } from "../support/fake-edge.ts";
import { TEST_ENV, waitFor } from "../support/harness.ts";
import { failing, minimal, sampler } from "../support/workflows.ts";

const EMULATOR_MAIN = fileURLToPath(new URL("../../emulator/main.ts", import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function supervised(env: Record<string, string>, onTestFinished: (fn: () => Promise<void> | void) => void, onTestFailed: (fn: () => void) => void) {
  const port = await freePort();
  // A crashed emulator cleans nothing up: its working dirs live under one this test removes.
  const base = mkdtempSync(join(tmpdir(), "gpu-backend-supervised-"));
  const edge = await FakeEdge.start();
  const logs: string[] = [];
  onTestFailed(() => console.log(logs.slice(-60).join("\n")));
  const loaded = loadConfig({
    ...edge.hostEnv(),
    ...TEST_ENV,
    COMFY_URL: `http://127.0.0.1:${port}`,
    COMFY_BASE_DIR: base,
    COMFY_COMMAND: process.execPath,
    COMFY_ARGS: JSON.stringify([EMULATOR_MAIN, "--port", String(port), "--step-ms", "5", "--base-dir", base]),
    COMFY_RESTART_BACKOFF_MS: "100",
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("; "));
  const service = await startService(loaded.config, { log: createLogger("debug", (l) => logs.push(l)) });
  onTestFinished(async () => {
    await service.close();
    await edge.close();
    rmSync(base, { recursive: true, force: true });
  });
  await waitFor(() => service.link.state === "ready", 15_000, "supervised ComfyUI ready");
  return { edge, service, logs };
}

const restarts = async (url: string) => Number(/gpu_backend_comfy_restarts_total (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);

describe("supervised ComfyUI", () => {
  it("crash mid-job: host_error at once, the process is restarted, the next job runs", async ({ expect, onTestFinished, onTestFailed }) => {
    const { edge, service } = await supervised({}, onTestFinished, onTestFailed);
    const firstPid = service.supervisor!.pid;
    const req = edge.newJob(failing("CrashEmu"));
    await edge.dispatch(service.url, req);
    const terminal = await edge.waitForTerminal(req.job_id, 15_000);
    if (terminal.type !== "job.failed") throw new Error(`expected failure, got ${terminal.type}`);
    expect(terminal.error.code).toBe("host_error");
    expect(terminal.error.message).toMatch(/exit code 1/);
    await waitFor(() => service.link.state === "ready" && service.supervisor!.pid !== firstPid, 15_000, "restarted and ready");
    expect(await restarts(service.url)).toBe(1);
    const next = edge.newJob(minimal("after-crash"));
    expect((await edge.dispatch(service.url, next)).status).toBe(202);
    expect((await edge.waitForTerminal(next.job_id, 15_000)).type).toBe("job.succeeded");
  });

  it("hang (process stopped): detected, killed, restarted; the job fails retryably", async ({ expect, onTestFinished, onTestFailed }) => {
    const { edge, service } = await supervised(
      { STUCK_TIMEOUT_MS: "300", COMFY_REQUEST_TIMEOUT_MS: "500", COMFY_LOST_TIMEOUT_MS: "800" },
      onTestFinished,
      onTestFailed,
    );
    const req = edge.newJob(sampler(2000, 10));
    await edge.dispatch(service.url, req);
    await edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.progress");
    const hungPid = service.supervisor!.pid!;
    process.kill(hungPid, "SIGSTOP");
    onTestFinished(() => {
      try {
        process.kill(hungPid, "SIGKILL");
      } catch {
        // already gone
      }
    });
    const terminal = await edge.waitForTerminal(req.job_id, 15_000);
    if (terminal.type !== "job.failed") throw new Error(`expected failure, got ${terminal.type}`);
    expect(terminal.error.code).toBe("host_error");
    await waitFor(() => service.link.state === "ready" && service.supervisor!.pid !== hungPid, 15_000, "restarted");
    expect(await restarts(service.url)).toBe(1);
    const next = edge.newJob(minimal("after-hang"));
    await edge.dispatch(service.url, next);
    expect((await edge.waitForTerminal(next.job_id, 15_000)).type).toBe("job.succeeded");
  });
});
