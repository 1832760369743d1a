// Overall progress of a prompt (job.progress.percent): which nodes count, how cached, finished and
// running nodes weigh, and the two promises — never down, never 100 while the prompt runs.
import { describe, it } from "vitest";
import type { NodeUpdate } from "../../src/comfy/prompt-tracker.ts";
import { executedNodes, MAX_RUNNING_PERCENT, PromptProgress } from "../../src/jobs/progress.ts";

const OUTPUTS = new Set(["SaveImage", "PreviewImage"]);

/** ComfyUI's default graph: 4 checkpoint, 6/7 prompts, 5 latent, 3 sampler, 8 decode, 9 save. */
const graph = {
  "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "sd15.safetensors" } },
  "6": { class_type: "CLIPTextEncode", inputs: { text: "a cat", clip: ["4", 1] } },
  "7": { class_type: "CLIPTextEncode", inputs: { text: "blurry", clip: ["4", 1] } },
  "5": { class_type: "EmptyLatentImage", inputs: { width: 64, height: 64, batch_size: 1 } },
  "3": { class_type: "KSampler", inputs: { model: ["4", 0], positive: ["6", 0], negative: ["7", 0], latent_image: ["5", 0], steps: 10 } },
  "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
  "9": { class_type: "SaveImage", inputs: { images: ["8", 0], filename_prefix: "x" } },
};

const finished = (...ids: string[]): NodeUpdate => ({
  kind: "states",
  nodes: Object.fromEntries(ids.map((id) => [id, { state: "finished", value: 1, max: 1 }])),
});

describe("the nodes a prompt executes", () => {
  it("are the output nodes and what they depend on through links", ({ expect }) => {
    // An unconnected node (ComfyUI never runs it) and a node only it uses are left out.
    const workflow = {
      ...graph,
      "20": { class_type: "EmptyLatentImage", inputs: { width: 8, height: 8, batch_size: 1 } },
      "21": { class_type: "LatentUpscale", inputs: { samples: ["20", 0] } },
    };
    expect([...executedNodes(workflow, OUTPUTS)].sort()).toEqual(["3", "4", "5", "6", "7", "8", "9"]);
  });

  it("are all nodes when the workflow has no output node the host knows of", ({ expect }) => {
    const workflow = { "1": { class_type: "EmptyImage", inputs: {} }, "2": { class_type: "SaveSomewhereElse", inputs: { images: ["1", 0] } } };
    expect([...executedNodes(workflow, OUTPUTS)].sort()).toEqual(["1", "2"]);
  });

  it("ignore links to nodes the workflow lacks and values that only look like links", ({ expect }) => {
    const workflow = {
      "1": { class_type: "SaveImage", inputs: { images: ["99", 0], size: [512, 512], pair: ["2", "x"] } },
      "2": { class_type: "EmptyImage", inputs: {} },
    };
    expect([...executedNodes(workflow, OUTPUTS)]).toEqual(["1"]);
  });
});

describe("percent", () => {
  it("weighs the nodes equally and the running one by value/max", ({ expect }) => {
    const p = new PromptProgress(graph, OUTPUTS);
    expect(p.percent).toBe(0);
    p.apply(finished("4", "6", "7", "5"));
    expect(p.percent).toBe(57.1); // 4 of 7
    p.apply({ kind: "executing", node: "3" });
    p.apply({ kind: "progress", node: "3", value: 5, max: 10 });
    expect(p.percent).toBe(64.2); // 4.5 of 7
    p.apply({ kind: "progress", node: "3", value: 10, max: 10 });
    expect(p.percent).toBe(71.4);
  });

  it("counts nodes reported cached as done", ({ expect }) => {
    const p = new PromptProgress(graph, OUTPUTS);
    p.apply({ kind: "cached", nodes: ["4", "5", "6", "7"] });
    expect(p.percent).toBe(57.1);
    // A cached output node is reported with `executed` only.
    p.apply({ kind: "cached", nodes: ["3", "8"] });
    p.apply({ kind: "executed", node: "9" });
    expect(p.percent).toBe(MAX_RUNNING_PERCENT);
  });

  it("reads running nodes from progress_state, finished or not", ({ expect }) => {
    const p = new PromptProgress(graph, OUTPUTS);
    p.apply({ kind: "states", nodes: { "4": { state: "finished", value: 1, max: 1 }, "3": { state: "running", value: 7, max: 14 } } });
    expect(p.percent).toBe(21.4); // 1.5 of 7
  });

  it("never goes down: a lower value for a node, a restarted bar or a bad max change nothing", ({ expect }) => {
    const p = new PromptProgress(graph, OUTPUTS);
    const seen: number[] = [];
    const updates: NodeUpdate[] = [
      { kind: "progress", node: "3", value: 8, max: 10 },
      { kind: "progress", node: "3", value: 2, max: 10 },
      { kind: "states", nodes: { "3": { state: "running", value: 0, max: 1 } } },
      { kind: "progress", node: "3", value: 3, max: 0 },
      { kind: "progress", node: "3", value: 30, max: 10 },
      { kind: "progress", node: "3", value: -5, max: 10 },
    ];
    for (const u of updates) {
      p.apply(u);
      seen.push(p.percent);
    }
    expect(seen).toEqual([11.4, 11.4, 11.4, 11.4, 14.2, 14.2]);
  });

  it("stays below 100 even when every node is done before the prompt ends", ({ expect }) => {
    const p = new PromptProgress(graph, OUTPUTS);
    p.apply(finished("4", "6", "7", "5", "3", "8", "9"));
    expect(p.percent).toBe(MAX_RUNNING_PERCENT);
    expect(p.percent).toBeLessThan(100);
  });

  it("without progress_state, takes a node as done when the next one starts executing", ({ expect }) => {
    const p = new PromptProgress(graph, OUTPUTS);
    p.apply({ kind: "executing", node: "4" });
    expect(p.percent).toBe(0);
    p.apply({ kind: "executing", node: "6" });
    expect(p.percent).toBe(14.2);
    // Once progress_state is seen it alone says what is finished (a lazy node may run again).
    p.apply(finished("4", "6"));
    p.apply({ kind: "executing", node: "7" });
    p.apply({ kind: "executing", node: "5" });
    expect(p.percent).toBe(28.5);
  });

  it("counts no node the workflow lacks, nor one no output depends on", ({ expect }) => {
    const p = new PromptProgress({ ...graph, "30": { class_type: "EmptyImage", inputs: {} } }, OUTPUTS);
    p.apply(finished("30", "9.0.1", "expanded"));
    p.apply({ kind: "progress", node: "unknown", value: 1, max: 1 });
    expect(p.percent).toBe(0);
  });

  it("names the class of a node of the dispatched workflow", ({ expect }) => {
    const p = new PromptProgress(graph, OUTPUTS);
    expect(p.classOf("3")).toBe("KSampler");
    expect(p.classOf("42")).toBeNull();
    expect(p.classOf(null)).toBeNull();
  });
});
