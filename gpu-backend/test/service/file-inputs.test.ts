// File inputs are only the job's own: ComfyUI's LoadImage opens `os.path.join(input_dir, name)`
// for any name (its VALIDATE_INPUTS skips the file list), so an absolute path, `..` or a
// ` [temp]`/` [output]` suffix reads any file the ComfyUI process can. The host accepts a file
// input only when the dispatch sent the file for it (an InputRef) and writes the name itself; any
// other value fails the job with invalid_workflow before anything reaches ComfyUI. Every target
// below exists, so a host that let the value through would hand the file back as an output.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, it } from "vitest";
import { JOB_ERROR_CODES } from "../../../src/protocol/messages.ts";
import { comfyHistoryAll, comfyQueue, type Harness, startHarness } from "../support/harness.ts";
import { minimal, png } from "../support/workflows.ts";

/** LoadImage "1" with `image` as given → SaveImage "2": whatever LoadImage opens becomes an output. */
const exfiltrate = (image: unknown) => ({
  "1": { class_type: "LoadImage", inputs: { image } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "stolen" } },
  "9": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
});

async function refused(h: Harness, req: ReturnType<Harness["edge"]["newJob"]>) {
  expect202(await h.edge.dispatch(h.service.url, req));
  const terminal = await h.edge.waitForTerminal(req.job_id);
  if (terminal.type !== "job.failed") throw new Error(`expected job.failed, got ${JSON.stringify(terminal)}`);
  return terminal.error;
}

function expect202(reply: { status: number }) {
  if (reply.status !== 202) throw new Error(`dispatch answered ${reply.status}`);
}

describe("file inputs are only the files the host placed", () => {
  it("refuses a path, .., a [temp]/[output] suffix, a link, a plain name and a number: invalid_workflow, nothing reaches ComfyUI", async ({
    expect,
    onTestFinished,
  }) => {
    const h = await startHarness();
    // A private file of the host, outside ComfyUI's folders.
    const privateDir = mkdtempSync(join(tmpdir(), "host-private-"));
    onTestFinished(() => rmSync(privateDir, { recursive: true, force: true }));
    const secret = join(privateDir, "secret.png");
    writeFileSync(secret, png(2, 2, [1, 2, 3]));
    // Files in ComfyUI's own folders that belong to no job of this tenant.
    const { input, output, temp } = h.emulator.dirs;
    writeFileSync(join(temp, "ComfyUI_temp_abcde_00006_.png"), png(2, 2, [4, 5, 6]));
    writeFileSync(join(output, "someone_00001_.png"), png(2, 2, [7, 8, 9]));
    writeFileSync(join(input, "example.png"), png(2, 2, [10, 11, 12]));
    mkdirSync(join(input, "saas", "job_other-a1-00000000"), { recursive: true });
    writeFileSync(join(input, "saas", "job_other-a1-00000000", "in1-photo.png"), png(2, 2, [13, 14, 15]));

    const values: Array<[string, unknown]> = [
      ["an absolute path", secret],
      ["a path with ..", relative(input, secret)],
      ["a [temp] suffix", "ComfyUI_temp_abcde_00006_.png [temp]"],
      ["an [output] suffix", "someone_00001_.png [output]"],
      ["a plain name", "example.png"],
      ["another job's namespace", "saas/job_other-a1-00000000/in1-photo.png"],
      ["a link from another node", ["9", 0]],
      ["a number", 5],
    ];
    for (const [what, value] of values) {
      const req = h.edge.newJob(exfiltrate(value));
      const error = await refused(h, req);
      expect(error.code, what).toBe("invalid_workflow");
      expect(JOB_ERROR_CODES[error.code].retryable).toBe(false);
      expect(error.message, what).toContain("node 1 (LoadImage) input image");
      expect(error.details, what).toMatchObject({
        refused_by: "host_policy",
        errors: [{ node_id: "1", class_type: "LoadImage", input_name: "image", reason: "not-placed" }],
      });
      expect(h.edge.outputs.get(req.job_id), what).toBeUndefined();
      expect(
        h.edge.eventsFor(req.job_id).map((e) => e.type),
        what,
      ).toEqual(["job.failed"]);
    }
    // Not one of them reached ComfyUI: nothing queued, nothing ran.
    expect(await comfyQueue(h.emulator)).toEqual({ running: [], pending: [] });
    expect(await comfyHistoryAll(h.emulator)).toEqual({});
  });

  it("refuses an input sent for something that is not a file input of the workflow, before fetching it", async ({ expect }) => {
    const h = await startHarness();
    const bytes = png(2, 2, [1, 1, 1]);
    // Aimed at SaveImage's filename_prefix: the uploaded name would become the output prefix.
    const a = h.edge.newJob(minimal("x"));
    const atPrefix = { ...a, inputs: [h.edge.addInput(a.job_id, "in1", bytes, { node_id: "2", input_name: "filename_prefix" })] };
    const e1 = await refused(h, atPrefix);
    expect(e1).toMatchObject({
      code: "invalid_workflow",
      details: { errors: [{ node_id: "2", input_name: "filename_prefix", input_id: "in1", reason: "not-a-file-input" }] },
    });
    expect(e1.message).toContain("node 2 (SaveImage) input filename_prefix");
    // Aimed at a node that is not there.
    const b = h.edge.newJob(minimal("y"));
    const atNothing = { ...b, inputs: [h.edge.addInput(b.job_id, "in1", bytes, { node_id: "77", input_name: "image" })] };
    const e2 = await refused(h, atNothing);
    expect(e2).toMatchObject({ code: "invalid_workflow", details: { errors: [{ node_id: "77", reason: "no-such-node" }] } });
    // Neither input was even downloaded, and ComfyUI saw nothing.
    expect(h.edge.inputFetches).toEqual([]);
    expect(h.edge.outputs.get(atPrefix.job_id)).toBeUndefined();
    expect(await comfyHistoryAll(h.emulator)).toEqual({});
  });
});
