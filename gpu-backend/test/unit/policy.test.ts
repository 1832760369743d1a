// The host's workflow policy as a pure function: the rules that decide what may reach ComfyUI.
import { describe, it } from "vitest";
import type { InputRef } from "../../../src/protocol/messages.ts";
import { DEFAULT_FILE_INPUTS, fileInputsFromObjectInfo, mergeFileInputs, parseFileInputs } from "../../../src/protocol/node-policy.ts";
import { checkWorkflow, type WorkflowRules } from "../../src/jobs/policy.ts";

const objectInfo = {
  LoadImage: { input: { required: { image: [["a.png"], { image_upload: true }] } }, python_module: "nodes" },
  MyLoader: { input: { optional: { clip: [["x.wav"], { audio_upload: true }] } }, python_module: "custom_nodes.my-pack" },
  SaveImage: { python_module: "nodes" },
  OpenAIDalle3: { python_module: "comfy_api_nodes.nodes_openai" },
};
const rules: WorkflowRules = {
  fileInputs: mergeFileInputs(parseFileInputs(DEFAULT_FILE_INPUTS), fileInputsFromObjectInfo(objectInfo)),
  denied: new Set(["SaveLatent"]),
  allowed: new Set(["LoadImage", "MyLoader", "SaveImage", "OpenAIDalle3", "SaveLatent", "EmptyImage"]),
  objectInfo,
};
const ref = (node_id: string, input_name: string, id = "in1"): InputRef => ({
  id,
  node_id,
  input_name,
  filename: "a.png",
  content_type: "image/png",
  size: 1,
  sha256: "0".repeat(64),
});
const errorsOf = (workflow: Record<string, unknown>, inputs: InputRef[] = []) => {
  const v = checkWorkflow({ workflow, inputs }, rules);
  return v.ok ? [] : (v.failure.details as { errors: Array<{ node_id: string; reason: string }> }).errors.map((e) => `${e.node_id}:${e.reason}`);
};

describe("host workflow policy", () => {
  it("accepts file inputs covered by an InputRef, whatever their submitted value", ({ expect }) => {
    const workflow = {
      "1": { class_type: "LoadImage", inputs: { image: "https://example.com/a.png" } },
      "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "x" } },
    };
    expect(checkWorkflow({ workflow, inputs: [ref("1", "image")] }, rules)).toEqual({ ok: true });
  });

  it("knows file inputs from object_info's upload flags, not only from the config", ({ expect }) => {
    expect(errorsOf({ "1": { class_type: "MyLoader", inputs: { clip: "../../x.wav" } } })).toEqual(["1:not-placed"]);
    expect(errorsOf({ "1": { class_type: "MyLoader", inputs: { clip: "u" } } }, [ref("1", "clip")])).toEqual([]);
  });

  it("refuses denied classes, API nodes (by python_module) and classes outside the allowed set", ({ expect }) => {
    expect(
      errorsOf({ "1": { class_type: "SaveLatent", inputs: {} }, "2": { class_type: "OpenAIDalle3", inputs: {} }, "3": { class_type: "Unknown", inputs: {} } }),
    ).toEqual(["1:denied", "2:api-node", "3:not-allowed"]);
  });

  it("refuses an InputRef placed twice, or on a node with no such file input", ({ expect }) => {
    expect(errorsOf({ "1": { class_type: "LoadImage", inputs: { image: "u" } } }, [ref("1", "image", "a"), ref("1", "image", "b")])).toEqual([
      "1:placed-twice",
    ]);
    expect(errorsOf({ "1": { class_type: "EmptyImage", inputs: {} } }, [ref("1", "image")])).toEqual(["1:not-a-file-input"]);
  });

  it("refuses a linked filename_prefix and a loader whose inputs are not an object", ({ expect }) => {
    expect(errorsOf({ "1": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: ["3", 0] } } })).toEqual(["1:prefix-not-constant"]);
    expect(errorsOf({ "1": { class_type: "LoadImage", inputs: ["image"] } })).toEqual(["1:inputs-not-an-object"]);
  });

  it("names node and input in a message that lists every problem", ({ expect }) => {
    const v = checkWorkflow({ workflow: { "7": { class_type: "LoadImage", inputs: { image: "/etc/passwd" } } }, inputs: [] }, rules);
    if (v.ok) throw new Error("accepted");
    expect(v.failure.code).toBe("invalid_workflow");
    expect(v.failure.message).toContain("node 7 (LoadImage) input image: only a file sent with the job is accepted here");
    expect(v.failure.message).not.toContain("/etc/passwd");
  });
});
