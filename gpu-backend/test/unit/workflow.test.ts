// The pure pieces of a job: namespace rewriting, reading a history entry, naming outputs.
import { describe, it } from "vitest";
import { HistoryEntry } from "../../src/comfy/schemas.ts";
import { classifyHistory, invalidWorkflow, isOutOfMemory } from "../../src/jobs/outcome.ts";
import { contentTypeOf, listOutputFiles, outputName } from "../../src/jobs/outputs.ts";
import { JOB_INPUT, jobNamespace, rewriteWorkflow, safeSegment } from "../../src/jobs/workflow.ts";

describe("workflow rewrite", () => {
  const workflow = {
    "1": { class_type: "LoadImage", inputs: { image: "user-value.png" } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "../../etc/evil/%date%_img" } },
    "3": { class_type: "PreviewImage", inputs: { images: ["1", 0] } },
    "4": { class_type: "SaveAudio", inputs: { audio: ["9", 0], filename_prefix: "/abs/audio" } },
  };
  const outputs = new Set(["SaveImage", "PreviewImage", "SaveAudio"]);

  it("puts inputs, every filename_prefix and a cache-busting input into the job's namespace", ({ expect }) => {
    const r = rewriteWorkflow(workflow, "saas/job-a1-abcd1234", [{ nodeId: "1", inputName: "image", value: "saas/job-a1-abcd1234/in1-photo.png" }], outputs);
    if (!r.ok) throw new Error(r.message);
    expect(r.prompt).toEqual({
      "1": { class_type: "LoadImage", inputs: { image: "saas/job-a1-abcd1234/in1-photo.png" } },
      "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "saas/job-a1-abcd1234/%date%_img", [JOB_INPUT]: "saas/job-a1-abcd1234" } },
      "3": { class_type: "PreviewImage", inputs: { images: ["1", 0], [JOB_INPUT]: "saas/job-a1-abcd1234" } },
      "4": { class_type: "SaveAudio", inputs: { audio: ["9", 0], filename_prefix: "saas/job-a1-abcd1234/audio", [JOB_INPUT]: "saas/job-a1-abcd1234" } },
    });
    // The caller's workflow is untouched.
    expect(workflow["2"].inputs.filename_prefix).toBe("../../etc/evil/%date%_img");
  });

  it("refuses an input aimed at a node that is not there", ({ expect }) => {
    const r = rewriteWorkflow(workflow, "saas/x", [{ nodeId: "77", inputName: "image", value: "v" }], outputs);
    expect(r).toMatchObject({ ok: false, details: { node_id: "77" } });
  });

  it("namespaces are unique per dispatch and safe as a folder", ({ expect }) => {
    const ref = { job_id: "job/../1", attempt: 3, lease_id: "lease_12345678" };
    const a = jobNamespace(ref);
    expect(a).toMatch(/^saas\/job____1-a3-[0-9a-f]{8}$/);
    expect(a.split("/")).toHaveLength(2);
    expect(jobNamespace(ref)).not.toBe(a);
    expect(safeSegment("..", "x")).toBe("x");
    expect(safeSegment("a/b/..hidden.png", "x")).toBe("hidden.png");
  });
});

describe("history entries", () => {
  const entry = (status: unknown, outputs: unknown = {}) => HistoryEntry.parse({ prompt: [], outputs, status });

  it("success, execution error, out of memory and interrupt", ({ expect }) => {
    expect(classifyHistory(entry({ status_str: "success", completed: true, messages: [] }))).toEqual({ kind: "success" });
    const error = (type: string, message: string) =>
      entry({
        status_str: "error",
        completed: false,
        messages: [["execution_error", { node_id: "5", node_type: "KSampler", exception_type: type, exception_message: message, traceback: ["a", "b"] }]],
      });
    expect(classifyHistory(error("ValueError", "bad\n"))).toMatchObject({
      kind: "failed",
      failure: { code: "execution_error", message: "KSampler 5: ValueError: bad" },
    });
    expect(classifyHistory(error("torch.OutOfMemoryError", "Allocation on device"))).toMatchObject({ failure: { code: "out_of_memory" } });
    expect(classifyHistory(error("RuntimeError", "CUDA out of memory. Tried to allocate 20.00 GiB"))).toMatchObject({ failure: { code: "out_of_memory" } });
    expect(classifyHistory(entry({ status_str: "error", completed: false, messages: [["execution_interrupted", {}]] }))).toEqual({ kind: "interrupted" });
    expect(isOutOfMemory("RuntimeError", "index out of range")).toBe(false);
  });

  it("invalid workflow keeps ComfyUI's error and node_errors, and an old-style string error", ({ expect }) => {
    const f = invalidWorkflow(
      { type: "x", message: "Prompt outputs failed validation", details: "", extra_info: {} },
      { "1": { errors: [{ message: "Value 0 smaller than min of 1", details: "width" }] } },
    );
    expect(f.message).toBe("Prompt outputs failed validation\nnode 1: Value 0 smaller than min of 1 - width");
    expect(invalidWorkflow("no prompt", {}).message).toBe("no prompt");
  });

  it("lists files of any node and key, skipping nodes served from cache", ({ expect }) => {
    const e = entry(
      { status_str: "success", completed: true, messages: [["execution_cached", { nodes: ["9"] }]] },
      {
        "2": {
          images: [
            { filename: "a.png", subfolder: "saas/x", type: "output" },
            { filename: "b.png", subfolder: "saas/x", type: "output" },
          ],
        },
        "5": { audio: [{ filename: "s.flac", subfolder: "saas/x", type: "output" }], text: ["not a file"], animated: [true] },
        "9": { images: [{ filename: "someone-elses.png", subfolder: "", type: "temp" }] },
      },
    );
    const { files, skippedCached } = listOutputFiles(e);
    expect(files.map((f) => `${f.nodeId}/${f.kind}/${f.ref.filename}`)).toEqual(["2/images/a.png", "2/images/b.png", "5/audio/s.flac"]);
    expect(skippedCached).toEqual(["9:someone-elses.png"]);
  });

  it("output names are valid and unique; content types from ComfyUI or the extension", ({ expect }) => {
    const used = new Set<string>();
    expect(outputName("ComfyUI_00001_.png", used)).toBe("ComfyUI_00001_.png");
    expect(outputName("ComfyUI_00001_.png", used)).toBe("ComfyUI_00001_-2.png");
    expect(outputName("__weird name!.png", used)).toBe("weird_name_.png");
    expect(outputName("...", used)).toBe("output");
    expect(contentTypeOf("a.flac", "application/octet-stream")).toBe("audio/flac");
    expect(contentTypeOf("a.png", "image/png")).toBe("image/png");
    expect(contentTypeOf("a.bin", undefined)).toBe("application/octet-stream");
  });
});
