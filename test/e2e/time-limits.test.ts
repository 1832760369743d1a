// End to end: a job no host can take fails with queue_timeout; a job running past its deadline is
// interrupted on its host and fails with timeout. Both free their admission slot.
import { afterEach, describe, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { Client, EMPTY_TO_SAVE, SLOW } from "./support/client.ts";

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe("time limits", () => {
  it("with no GPU host, a job fails with queue_timeout after QUEUED_TIMEOUT_SECONDS", async ({ expect }) => {
    stack = await startLocalStack({ hosts: 0, vars: { QUEUED_TIMEOUT_SECONDS: "2" } });
    const api = new Client(stack);
    const t = await api.tenant();
    const job = await api.submitOk(t, "q", EMPTY_TO_SAVE());
    expect(job).toMatchObject({ status: "queued", queue_position: 0 });
    const done = await api.waitForEnd(t, "q", job.id, 20_000);
    expect(done).toMatchObject({ status: "failed", error: { code: "queue_timeout" }, attempt: 0 });
    expect((await api.usage(t, "q")).user_active_jobs).toBe(0);
    const health = await fetch(`${stack.edge.url}/health`);
    expect(health.status).toBe(503);
  });

  it("a job running past JOB_TIMEOUT_SECONDS is interrupted on its host and fails with timeout", async ({ expect }) => {
    stack = await startLocalStack({ hosts: 1, vars: { JOB_TIMEOUT_SECONDS: "2" } });
    const api = new Client(stack);
    const t = await api.tenant();
    const job = await api.submitOk(t, "d", SLOW(100, 100));
    const done = await api.waitForEnd(t, "d", job.id, 30_000);
    expect(done).toMatchObject({ status: "failed", attempt: 1, error: { code: "timeout" } });
    // Interrupted on the host, not run to its end: ComfyUI's history says so.
    const history = (await (await fetch(`http://127.0.0.1:${stack.hosts[0]!.emulatorPort}/history`)).json()) as Record<
      string,
      { status: { messages: [string][] } }
    >;
    const runs = Object.values(history);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status.messages.map(([m]) => m)).toContain("execution_interrupted");
    expect((await api.usage(t, "d")).user_active_jobs).toBe(0);
    // The host is free again: the next job runs.
    const next = await api.submitOk(t, "d", EMPTY_TO_SAVE());
    expect((await api.waitForEnd(t, "d", next.id)).status).toBe("succeeded");
  });
});
