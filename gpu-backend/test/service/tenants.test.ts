// Two tenants on one host. Tenant A's job is held running (GateEmu) after its input was placed,
// its SaveImage wrote an output and its PreviewImage wrote a preview into ComfyUI's shared temp
// folder under a prefix ComfyUI reuses across prompts. Tenant B knows every one of those names
// (here: read from the disk, the most an attacker could learn) and asks for each file by name,
// suffix, relative and absolute path. Every attempt fails before ComfyUI sees it, none of A's
// files becomes B's output, A's job is unaffected, and once each job is over nothing of it is
// left in ComfyUI's folders.
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "vitest";
import { comfyHistoryAll, jobLeftovers, startHarness, waitFor } from "../support/harness.ts";
import { png } from "../support/workflows.ts";

const filesUnder = (dir: string): string[] => {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => /\.png$/.test(p));
  } catch {
    return [];
  }
};

describe("two tenants on one host", () => {
  it("tenant B cannot get tenant A's preview, input or output by any name, suffix or path; both leave nothing behind", async ({ expect }) => {
    const h = await startHarness();
    const { input, output, temp } = h.emulator.dirs;

    // Tenant A: LoadImage (its own input) → SaveImage and PreviewImage, then held at a gate.
    const baseA = h.edge.newJob(
      {
        "1": { class_type: "LoadImage", inputs: { image: "upload:photo" } },
        "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "a-out" } },
        "3": { class_type: "PreviewImage", inputs: { images: ["1", 0] } },
        "4": { class_type: "GateEmu", inputs: { image: ["1", 0], name: "tenant-a", step_ms: 0 } },
        "5": { class_type: "SaveImage", inputs: { images: ["4", 0], filename_prefix: "a-after" } },
      },
      { tenant_id: "tenant_a" },
    );
    const jobA = {
      ...baseA,
      inputs: [h.edge.addInput(baseA.job_id, "photo", png(3, 3, [200, 100, 50]), { node_id: "1", input_name: "image" }, "private-photo.png")],
    };
    expect((await h.edge.dispatch(h.service.url, jobA)).status).toBe(202);
    // A's three files exist while its job is held.
    const [aInput, aOutput, aPreview] = await waitFor(
      () => {
        const files = [filesUnder(join(input, "saas"))[0], filesUnder(join(output, "saas"))[0], filesUnder(temp)[0]];
        return files.every((f) => f !== undefined) ? (files as [string, string, string]) : undefined;
      },
      10_000,
      "tenant A's input, output and preview on disk",
    );
    const historyBefore = Object.keys(await comfyHistoryAll(h.emulator));

    const names: Array<[string, string]> = [
      ["A's preview by [temp] suffix", `${aPreview} [temp]`],
      ["A's preview by absolute path", join(temp, aPreview)],
      ["A's preview by ../temp", relative(input, join(temp, aPreview))],
      ["A's input by namespace", `saas/${aInput}`],
      ["A's input by [input] suffix", `saas/${aInput} [input]`],
      ["A's input by absolute path", join(input, "saas", aInput)],
      ["A's output by [output] suffix", `saas/${aOutput} [output]`],
      ["A's output by absolute path", join(output, "saas", aOutput)],
      ["A's output by ../output", relative(input, join(output, "saas", aOutput))],
    ];
    for (const [what, name] of names) {
      const jobB = h.edge.newJob(
        {
          "1": { class_type: "LoadImage", inputs: { image: name } },
          "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "b-out" } },
        },
        { tenant_id: "tenant_b" },
      );
      expect((await h.edge.dispatch(h.service.url, jobB)).status, what).toBe(202);
      const terminal = await h.edge.waitForTerminal(jobB.job_id);
      expect(terminal, what).toMatchObject({ type: "job.failed", error: { code: "invalid_workflow" } });
      expect(h.edge.outputs.get(jobB.job_id), what).toBeUndefined();
    }
    // Even with a file of its own placed properly, a second loader cannot reach A's files.
    const baseB = h.edge.newJob(
      {
        "1": { class_type: "LoadImage", inputs: { image: "upload:mine" } },
        "2": { class_type: "LoadImage", inputs: { image: `${aPreview} [temp]` } },
        "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "b-out" } },
      },
      { tenant_id: "tenant_b" },
    );
    const mixed = { ...baseB, inputs: [h.edge.addInput(baseB.job_id, "mine", png(2, 2, [0, 0, 0]), { node_id: "1", input_name: "image" })] };
    await h.edge.dispatch(h.service.url, mixed);
    expect(await h.edge.waitForTerminal(mixed.job_id)).toMatchObject({
      type: "job.failed",
      error: { code: "invalid_workflow", details: { errors: [{ node_id: "2", reason: "not-placed" }] } },
    });
    // None of B's jobs reached ComfyUI.
    expect(Object.keys(await comfyHistoryAll(h.emulator))).toEqual(historyBefore);

    // A is unaffected: it gets its own three files…
    h.emulator.openGate("tenant-a");
    const terminalA = await h.edge.waitForTerminal(jobA.job_id);
    if (terminalA.type !== "job.succeeded") throw new Error(`expected A to succeed: ${JSON.stringify(terminalA)}`);
    expect(terminalA.outputs.map((o) => `${o.node_id}/${o.kind}`).sort()).toEqual(["2/images", "3/images", "5/images"]);
    // … and once the edge has heard, nothing of any job is left: no input, output or preview.
    expect(jobLeftovers(h.emulator)).toEqual([]);
    expect(await h.service.manager.waitIdle(10_000)).toBe(true);
    expect(jobLeftovers(h.emulator)).toEqual([]);
  });
});
