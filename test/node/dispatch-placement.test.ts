// Placement rules (src/dispatch/placement.ts) and what a job needs (src/workflows/needs.ts), on
// plain values: who can run a job, which free host takes it, when a job may be passed over, and
// what a waiting job's view says it waits for.
import { describe, expect, it } from "vitest";
import { bestHost, canRun, loadCost, mayPassOver, missingOn, offerOf, waitingFor } from "../../src/dispatch/placement.ts";
import { workflowNeeds } from "../../src/workflows/needs.ts";

const offer = offerOf({ classes: ["CheckpointLoaderSimple", "KSampler", "SaveImage"], models: { checkpoints: ["a.safetensors"], loras: ["l.safetensors"] } });
const needs = (models: string[], classes = ["CheckpointLoaderSimple", "KSampler"]) => ({ classes, models });

describe("who can run a job", () => {
  it("a host whose catalog has every class and model file, in any folder", () => {
    expect(canRun(needs(["a.safetensors", "l.safetensors"]), offer)).toBe(true);
    expect(canRun(needs(["b.safetensors"]), offer)).toBe(false);
    expect(canRun(needs([], ["Upscaler"]), offer)).toBe(false);
    expect(missingOn(needs(["b.safetensors"], ["KSampler", "Upscaler"]), offer)).toEqual({ classes: ["Upscaler"], models: ["b.safetensors"] });
  });

  it("in a pool that fetches model files on demand, only node classes must be there", () => {
    expect(canRun({ ...needs(["b.safetensors"]), modelsOnDemand: true }, offer)).toBe(true);
    expect(canRun({ ...needs(["b.safetensors"], ["Upscaler"]), modelsOnDemand: true }, offer)).toBe(false);
  });

  it("a host without a catalog is not checked; one whose catalog is not here yet runs nothing", () => {
    expect(canRun(needs(["anything.safetensors"]), undefined)).toBe(true);
    expect(canRun(needs([]), "pending")).toBe(false);
  });
});

describe("which free host takes it", () => {
  const hosts = [
    { id: "h1", free: 3, cost: 1 },
    { id: "h2", free: 1, cost: 0 },
    { id: "h0", free: 3, cost: 1 },
  ];
  it("with affinity, the one loading the fewest models; then most free slots; then lowest id", () => {
    expect(bestHost(hosts, true)?.id).toBe("h2");
    expect(
      bestHost(
        hosts.filter((h) => h.id !== "h2"),
        true,
      )?.id,
    ).toBe("h0");
  });
  it("without affinity, most free slots, then lowest id", () => {
    expect(bestHost(hosts, false)?.id).toBe("h0");
    expect(bestHost([], false)).toBeUndefined();
  });
  it("the load cost: 0 per warm model, 1 per model on disk, 2 per model the host would download", () => {
    const both = needs(["a.safetensors", "l.safetensors"]);
    expect(loadCost(both, new Set(["a.safetensors"]), offer)).toBe(1);
    expect(loadCost(both, new Set(), offer)).toBe(2);
    expect(loadCost(needs(["a.safetensors", "new.safetensors"]), new Set(), offer)).toBe(3);
    expect(loadCost(needs(["new.safetensors"]), new Set(), undefined)).toBe(1);
  });
});

describe("passing over the fair-next job", () => {
  const base = { costHere: 1, passedOver: 0, maxPassOvers: 3, warmerElsewhere: true };
  it("only when it would load models here and a warmer host can run it", () => {
    expect(mayPassOver(base)).toBe(true);
    expect(mayPassOver({ ...base, costHere: 0 })).toBe(false);
    expect(mayPassOver({ ...base, warmerElsewhere: false })).toBe(false);
  });
  it("at most maxPassOvers times; 0 turns affinity off", () => {
    expect(mayPassOver({ ...base, passedOver: 2 })).toBe(true);
    expect(mayPassOver({ ...base, passedOver: 3 })).toBe(false);
    expect(mayPassOver({ ...base, maxPassOvers: 0 })).toBe(false);
  });
});

describe("what a waiting job waits for", () => {
  const other = offerOf({ classes: ["KSampler"], models: { checkpoints: ["b.safetensors"] } });
  it("what the closest live host lacks; nothing when one can run it", () => {
    expect(waitingFor(needs(["c.safetensors"]), [other, offer])).toEqual({ classes: [], models: ["c.safetensors"] });
    expect(waitingFor(needs(["a.safetensors"]), [other, offer])).toBeUndefined();
    expect(waitingFor(needs(["c.safetensors"]), [undefined])).toBeUndefined();
    expect(waitingFor(needs(["c.safetensors"]), [])).toBeUndefined();
  });
});

describe("what a job needs", () => {
  const wf = {
    "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "a.safetensors" } },
    "9": { class_type: "SaveImage", inputs: { images: ["8", 0], filename_prefix: "x.safetensors" } },
    "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
  };
  it("every node's class, and the model files pre-flight found when the pool was checked", () => {
    expect(workflowNeeds(wf, ["a.safetensors"])).toEqual({ classes: ["CheckpointLoaderSimple", "SaveImage", "VAEDecode"], models: ["a.safetensors"] });
  });
  it("unchecked: any string value named like a model file", () => {
    expect(workflowNeeds(wf, undefined).models).toEqual(["a.safetensors", "x.safetensors"]);
  });
  it("on demand: the model files are listed, and marked as fetched by the host", () => {
    expect(workflowNeeds(wf, ["a.safetensors"], "on_demand")).toMatchObject({ models: ["a.safetensors"], modelsOnDemand: true });
  });
});
