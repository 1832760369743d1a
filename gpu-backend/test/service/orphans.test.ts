// Prompts left in ComfyUI by an earlier gpu-backend process of this host (it died, ComfyUI did
// not) are cleared on first contact; other clients' prompts are left alone.
import { describe, it } from "vitest";
import { comfyHistory, comfyQueue, startHarness, waitFor } from "../support/harness.ts";
import { failing, minimal } from "../support/workflows.ts";

describe("orphaned prompts", () => {
  it("deletes and interrupts the previous process's prompts, and only those", async ({ expect }) => {
    const ids = { running: crypto.randomUUID(), pending: crypto.randomUUID(), foreign: crypto.randomUUID() };
    const post = (prompt: unknown, promptId: string, clientId: string) =>
      fetch(`${emulatorUrl}/prompt`, { method: "POST", body: JSON.stringify({ prompt, prompt_id: promptId, client_id: clientId }) }).then((r) => r.text());
    let emulatorUrl = "";
    const h = await startHarness({
      beforeService: async (emulator) => {
        emulatorUrl = emulator.url;
        await post(failing("HangEmu"), ids.running, "gpu-backend-gpu-test-0badf00d");
        await post(minimal("left-over"), ids.pending, "gpu-backend-gpu-test-0badf00d");
        await post(minimal("someone-else"), ids.foreign, "another-client");
        await waitFor(async () => (await comfyQueue(emulator)).running.length === 1, 5_000, "orphan running");
      },
    });
    await waitFor(async () => (await comfyHistory(h.emulator, ids.running)) !== undefined, 5_000, "orphan interrupted");
    const interrupted = (await comfyHistory(h.emulator, ids.running)) as { status: { messages: [string][] } };
    expect(interrupted.status.messages.map(([m]) => m)).toContain("execution_interrupted");
    // The foreign prompt ran; the left-over one was deleted (no history, not queued).
    await waitFor(async () => (await comfyHistory(h.emulator, ids.foreign)) !== undefined, 5_000, "foreign prompt ran");
    expect(await comfyHistory(h.emulator, ids.pending)).toBeUndefined();
    expect(await comfyQueue(h.emulator)).toEqual({ running: [], pending: [] });
    // And the host works normally afterwards.
    const req = h.edge.newJob(minimal());
    await h.edge.dispatch(h.service.url, req);
    expect((await h.edge.waitForTerminal(req.job_id)).type).toBe("job.succeeded");
  });
});
