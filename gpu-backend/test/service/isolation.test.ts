// Two jobs with identical workflows must never mix outputs: ComfyUI caches identical reruns and
// would report the earlier job's file names. Per-job namespaces (filename_prefix rewrite plus a
// cache-busting input on output nodes) make every job's files its own.
import { describe, it } from "vitest";
import { readPngChunks } from "../../emulator/media/png.ts";
import { startHarness } from "../support/harness.ts";
import { minimal } from "../support/workflows.ts";

/** The prompt JSON SaveImage embedded in the PNG: it names the namespace the file was written for. */
function embeddedPrompt(png: Buffer): string {
  const chunk = readPngChunks(png).find((c) => c.type === "tEXt" && Buffer.from(c.data).toString("latin1").startsWith("prompt\0"));
  return chunk ? Buffer.from(chunk.data).toString("latin1").slice("prompt\0".length) : "";
}

describe("job isolation", () => {
  it("identical workflows, back to back and queued together, each get their own fresh files", async ({ expect }) => {
    const h = await startHarness({ env: { PREFETCH: "3" } });
    const workflow = minimal("same"); // same prefix, same colour: ComfyUI would serve it from cache
    const jobs = [h.edge.newJob(workflow), h.edge.newJob(workflow), h.edge.newJob(workflow)];
    for (const job of jobs) expect((await h.edge.dispatch(h.service.url, job)).status).toBe(202);
    const files = [];
    for (const job of jobs) {
      const terminal = await h.edge.waitForTerminal(job.job_id);
      if (terminal.type !== "job.succeeded") throw new Error(`expected success: ${JSON.stringify(terminal)}`);
      expect(terminal.outputs).toHaveLength(1);
      const stored = h.edge.outputs.get(job.job_id)!.get(terminal.outputs[0]!.name)!;
      files.push(stored.bytes);
      // The file this job got was written for this job (its namespace is in the embedded prompt) …
      const prompt = embeddedPrompt(stored.bytes);
      expect(prompt).toContain(`saas/${job.job_id}-a1-`);
      // … and for no other job.
      for (const other of jobs) if (other !== job) expect(prompt).not.toContain(other.job_id);
    }
    expect(new Set(files.map((f) => f.toString("base64"))).size).toBe(3);

    // Nothing was answered from cache: every prompt executed its SaveImage.
    const history = (await (await fetch(`${h.emulator.url}/history`)).json()) as Record<string, { status: { messages: [string, { nodes?: string[] }][] } }>;
    for (const entry of Object.values(history)) {
      const cached = entry.status.messages.find(([m]) => m === "execution_cached")?.[1].nodes ?? [];
      expect(cached).not.toContain("2");
    }
  });
});
