import { describe, it } from "vitest";
import { groupByNode, nodeOf } from "../src/workflow/node-errors.ts";
import { editableParams, nodeIds, parseWorkflowText, withParam } from "../src/workflow/params.ts";

const graph = {
  "10": { class_type: "SaveImage", inputs: { images: ["3", 0], filename_prefix: "x" } },
  "3": { class_type: "KSampler", inputs: { seed: 5, steps: 20, cfg: 8, model: ["4", 0], positive: ["6", 0] } },
  "6": { class_type: "CLIPTextEncode", inputs: { text: "a cat", clip: ["4", 1] } },
  "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "m.safetensors" } },
};

describe("reading a workflow", () => {
  it("takes a whole request body or a bare graph", ({ expect }) => {
    const body = parseWorkflowText(JSON.stringify({ workflow: graph, pool: "l4" }));
    expect(body).toEqual({ ok: true, body: { workflow: graph, pool: "l4" } });
    expect(parseWorkflowText(JSON.stringify(graph))).toEqual({ ok: true, body: { workflow: graph } });
  });

  it("says what is wrong with what is not an API-format graph", ({ expect }) => {
    expect(parseWorkflowText("")).toMatchObject({ ok: false, error: expect.stringContaining("Paste a workflow") });
    expect(parseWorkflowText("{nope")).toMatchObject({ ok: false, error: expect.stringContaining("not JSON") });
    expect(parseWorkflowText("[1]")).toMatchObject({ ok: false, error: expect.stringContaining("must be an object") });
    expect(parseWorkflowText("{}")).toMatchObject({ ok: false, error: "The workflow has no nodes." });
    // ComfyUI's UI format (nodes + links) is named as such, with the way out.
    expect(parseWorkflowText(JSON.stringify({ nodes: [], links: [] }))).toMatchObject({ ok: false, error: expect.stringContaining("Save (API Format)") });
  });

  it("lists nodes in ComfyUI's order and offers only literal prompt, seed and steps inputs", ({ expect }) => {
    expect(nodeIds(graph)).toEqual(["3", "4", "6", "10"]);
    expect(editableParams(graph, "3")).toEqual([
      { nodeId: "3", input: "seed", kind: "integer", value: 5 },
      { nodeId: "3", input: "steps", kind: "integer", value: 20 },
    ]);
    expect(editableParams(graph, "6")).toEqual([{ nodeId: "6", input: "text", kind: "text", value: "a cat" }]);
    const linked = { "6": { class_type: "CLIPTextEncode", inputs: { text: ["12", 0] } } };
    expect(editableParams(linked, "6")).toEqual([]);
    expect(editableParams(graph, "99")).toEqual([]);
  });

  it("changes one input in a copy", ({ expect }) => {
    const next = withParam(graph, "6", "text", "a dog");
    expect(next["6"]?.inputs.text).toBe("a dog");
    expect(graph["6"].inputs.text).toBe("a cat");
    expect(next["3"]).toBe(graph["3"]);
  });
});

describe("errors on their nodes", () => {
  it("puts each error on its node by node_id or pointer, and the rest apart", ({ expect }) => {
    expect(nodeOf({ pointer: "/workflow/a~1b/inputs/x", detail: "" })).toBe("a/b");
    expect(nodeOf({ pointer: "/pool", detail: "" })).toBeNull();
    const { byNode, general } = groupByNode(
      [
        { pointer: "/workflow/4/inputs/ckpt_name", detail: "not found" },
        { pointer: "/workflow", detail: "cycle", node_id: "3" },
        { pointer: "/workflow/77", detail: "gone" },
        { pointer: "/pool", detail: "no such pool" },
      ],
      new Set(nodeIds(graph)),
    );
    expect([...byNode.keys()].sort()).toEqual(["3", "4"]);
    expect(byNode.get("4")?.[0]?.detail).toBe("not found");
    expect(general.map((e) => e.detail)).toEqual(["gone", "no such pool"]);
  });
});
