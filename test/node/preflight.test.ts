// Pre-flight (issue 13, item 3) against the object_info of real ComfyUI 0.3.64: one test per
// error kind, every error at once, pointers, suggestions, and the per-pool relaxations.
import { readFileSync } from "node:fs";
import { describe, it } from "vitest";
import type { Catalog } from "../../src/workflows/catalog.ts";
import { closest, type PreflightResult, preflight } from "../../src/workflows/preflight.ts";

const recorded = JSON.parse(
  readFileSync(new URL("../../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json", import.meta.url), "utf8"),
) as { json: Catalog };
const txt2img = (JSON.parse(readFileSync(new URL("../../examples/txt2img.json", import.meta.url), "utf8")) as { workflow: Workflow }).workflow;

type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

const CKPT = "v1-5-pruned-emaonly-fp16.safetensors";

/** The recorded catalog with model files in the checkpoint and LoRA combos (recorded empty). */
function withModels(ckpts: string[] = [CKPT, "sdxl_base.safetensors"], loras: string[] = ["detail.safetensors"]): Catalog {
  const catalog = structuredClone(recorded.json) as Record<string, { input: { required: Record<string, unknown[]> } }>;
  catalog.CheckpointLoaderSimple!.input.required.ckpt_name![0] = ckpts;
  catalog.LoraLoader!.input.required.lora_name![0] = loras;
  return catalog as unknown as Catalog;
}

const CATALOG = withModels();
const graph = (): Workflow => structuredClone(txt2img);

function errorsOf(result: PreflightResult) {
  if (result.valid) throw new Error("expected errors");
  return result.errors.map(({ pointer, code }) => ({ pointer, code }));
}

describe("preflight", () => {
  it("passes ComfyUI's default txt2img graph", ({ expect }) => {
    expect(preflight(graph(), CATALOG)).toEqual({ valid: true, models: [CKPT] });
  });

  it("a valid graph names the model files of the loaders an output reaches, and only those", ({ expect }) => {
    const wf: Workflow = { ...graph(), "20": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "sdxl_base.safetensors" } } };
    expect(preflight(wf, CATALOG)).toEqual({ valid: true, models: [CKPT] });
    wf["4"]!.inputs.ckpt_name = "sdxl_base.safetensors";
    expect(preflight(wf, CATALOG)).toEqual({ valid: true, models: ["sdxl_base.safetensors"] });
  });

  it("unknown class: invalid_prompt with the closest known names", ({ expect }) => {
    const wf = graph();
    wf["3"]!.class_type = "KSamplr";
    const result = preflight(wf, CATALOG);
    expect(result).toMatchObject({
      valid: false,
      errors: [{ pointer: "/workflow/3/class_type", code: "invalid_prompt", node_id: "3", class_type: "KSamplr" }],
    });
    if (!result.valid) expect(result.errors[0]!.detail).toBe("Node 3: class 'KSamplr' is not installed on this pool; the closest known: 'KSampler'.");
    expect(closest("saveimage", recorded.json ? Object.keys(recorded.json) : [], 3)[0]).toBe("SaveImage");
  });

  it("no output node: prompt_no_outputs", ({ expect }) => {
    const wf = graph();
    delete wf["9"];
    expect(errorsOf(preflight(wf, CATALOG))).toEqual([{ pointer: "/workflow", code: "prompt_no_outputs" }]);
  });

  it("missing required input: required_input_missing", ({ expect }) => {
    const wf = graph();
    delete wf["3"]!.inputs.steps;
    const result = preflight(wf, CATALOG);
    expect(result).toMatchObject({ errors: [{ pointer: "/workflow/3/inputs/steps", code: "required_input_missing", input_name: "steps" }] });
  });

  it("literal of the wrong type: invalid_input_type, after Python's int()/float() conversion", ({ expect }) => {
    const wf = graph();
    wf["3"]!.inputs.steps = "5.0"; // int("5.0") raises
    wf["3"]!.inputs.cfg = "x";
    expect(errorsOf(preflight(wf, CATALOG))).toEqual([
      { pointer: "/workflow/3/inputs/steps", code: "invalid_input_type" },
      { pointer: "/workflow/3/inputs/cfg", code: "invalid_input_type" },
    ]);
    // What ComfyUI converts is fine: "20" → 20, 7.9 → 7, true → 1, " 7.5 " → 7.5, {"__value__": 8}.
    const ok = graph();
    Object.assign(ok["3"]!.inputs, { steps: "20", seed: 7.9, denoise: true, cfg: " 7.5 " });
    ok["5"]!.inputs.batch_size = { __value__: 1 };
    ok["6"]!.inputs.text = 42; // str() accepts anything
    expect(preflight(ok, CATALOG)).toMatchObject({ valid: true });
  });

  it("out of range: value_smaller_than_min and value_bigger_than_max, compared after conversion", ({ expect }) => {
    const wf = graph();
    wf["3"]!.inputs.steps = "0";
    wf["3"]!.inputs.cfg = 100.5;
    const result = preflight(wf, CATALOG);
    expect(errorsOf(result)).toEqual([
      { pointer: "/workflow/3/inputs/steps", code: "value_smaller_than_min" },
      { pointer: "/workflow/3/inputs/cfg", code: "value_bigger_than_max" },
    ]);
    if (!result.valid) {
      expect(result.errors[0]!.detail).toBe("steps: 0 is smaller than the minimum, 1.");
      expect(result.errors[1]!.detail).toBe("cfg: 100.5 is bigger than the maximum, 100.");
    }
  });

  it("combo value not in the list: value_not_in_list, closest choices listed first", ({ expect }) => {
    const wf = graph();
    wf["3"]!.inputs.sampler_name = "dpmpp_2m_karras";
    const result = preflight(wf, CATALOG);
    expect(result).toMatchObject({ errors: [{ pointer: "/workflow/3/inputs/sampler_name", code: "value_not_in_list", value: "dpmpp_2m_karras" }] });
    if (!result.valid) {
      expect(result.errors[0]!.detail).toMatch(/^sampler_name: 'dpmpp_2m_karras' is not one of the 42 choices: 'dpmpp_2m', /);
      expect(result.errors[0]!.detail).toMatch(/ and 37 more\.$/);
      expect(result.errors[0]!.model).toBeUndefined();
    }
  });

  it("missing model file: value_not_in_list marked as a model, naming what the pool has", ({ expect }) => {
    const wf = graph();
    wf["4"]!.inputs.ckpt_name = "sdxl.safetensors";
    const result = preflight(wf, CATALOG);
    expect(result).toEqual({
      valid: false,
      truncated: false,
      errors: [
        {
          pointer: "/workflow/4/inputs/ckpt_name",
          code: "value_not_in_list",
          detail: `ckpt_name: 'sdxl.safetensors' is not one of the 2 checkpoints this pool has: '${CKPT}', 'sdxl_base.safetensors'.`,
          node_id: "4",
          class_type: "CheckpointLoaderSimple",
          input_name: "ckpt_name",
          value: "sdxl.safetensors",
          model: true,
        },
      ],
    });
    // An empty models folder (as recorded) names no choices.
    expect(preflight(graph(), recorded.json)).toMatchObject({ errors: [{ detail: `ckpt_name: '${CKPT}' is not available: this pool has no checkpoints.` }] });
  });

  it("modelCombos: 'skip' relaxes model files only", ({ expect }) => {
    const wf = graph();
    wf["4"]!.inputs.ckpt_name = "sdxl.safetensors";
    expect(preflight(wf, CATALOG, { modelCombos: "skip" })).toMatchObject({ valid: true });
    expect(preflight(graph(), recorded.json, { modelCombos: "skip" })).toMatchObject({ valid: true });
    wf["3"]!.inputs.sampler_name = "nope";
    expect(errorsOf(preflight(wf, CATALOG, { modelCombos: "skip" }))).toEqual([{ pointer: "/workflow/3/inputs/sampler_name", code: "value_not_in_list" }]);
  });

  it("v3 COMBO values are not checked (as in ComfyUI 0.3.64) unless v3Combos: 'check'", ({ expect }) => {
    const wf = graph();
    wf["10"] = { class_type: "LatentCut", inputs: { samples: ["5", 0], dim: "z", index: 0, amount: 1 } };
    wf["3"]!.inputs.latent_image = ["10", 0];
    expect(preflight(wf, CATALOG)).toMatchObject({ valid: true });
    expect(errorsOf(preflight(wf, CATALOG, { v3Combos: "check" }))).toEqual([{ pointer: "/workflow/10/inputs/dim", code: "value_not_in_list" }]);
  });

  it("link to a missing node: linked_node_missing", ({ expect }) => {
    const wf = graph();
    wf["6"]!.inputs.clip = ["99", 1];
    expect(errorsOf(preflight(wf, CATALOG))).toEqual([{ pointer: "/workflow/6/inputs/clip", code: "linked_node_missing" }]);
  });

  it("bad output index: linked_output_out_of_range", ({ expect }) => {
    const wf = graph();
    wf["6"]!.inputs.clip = ["4", 3];
    const result = preflight(wf, CATALOG);
    expect(errorsOf(result)).toEqual([{ pointer: "/workflow/6/inputs/clip", code: "linked_output_out_of_range" }]);
    if (!result.valid) {
      expect(result.errors[0]!.detail).toBe("clip: links to output 3 of node 4 (CheckpointLoaderSimple), which has outputs 0-2 (MODEL, CLIP, VAE).");
    }
  });

  it("malformed link: bad_linked_input", ({ expect }) => {
    const wf = graph();
    wf["6"]!.inputs.clip = ["4", 1, 0];
    expect(errorsOf(preflight(wf, CATALOG))).toEqual([{ pointer: "/workflow/6/inputs/clip", code: "bad_linked_input" }]);
  });

  it("link type mismatch: return_type_mismatch; * and comma unions match as in validate_node_input", ({ expect }) => {
    const wf = graph();
    wf["6"]!.inputs.clip = ["4", 0];
    const result = preflight(wf, CATALOG);
    expect(errorsOf(result)).toEqual([{ pointer: "/workflow/6/inputs/clip", code: "return_type_mismatch" }]);
    if (!result.valid) expect(result.errors[0]!.detail).toBe("clip: expects CLIP but output 0 of node 4 (CheckpointLoaderSimple) is MODEL.");

    const any = graph();
    any["10"] = { class_type: "PreviewAny", inputs: { source: ["4", 0] } };
    expect(preflight(any, CATALOG)).toMatchObject({ valid: true });

    const union = structuredClone(CATALOG) as Record<string, { input: { required: Record<string, unknown[]> } }>;
    union.VAEDecode!.input.required.vae![0] = "VAE, LATENT";
    const crossed = graph();
    crossed["8"]!.inputs.vae = ["5", 0]; // LATENT
    expect(preflight(crossed, union as unknown as Catalog)).toMatchObject({ valid: true });
  });

  it("reports every error at once, ordered by node id then input order", ({ expect }) => {
    const wf = graph();
    wf["10"] = { class_type: "Nope", inputs: {} };
    wf["3"]!.inputs.cfg = -1;
    wf["3"]!.inputs.steps = 0;
    delete wf["9"]!.inputs.filename_prefix;
    wf["8"]!.inputs.vae = ["4", 1];
    wf["4"]!.inputs.ckpt_name = "gone.safetensors";
    expect(errorsOf(preflight(wf, CATALOG))).toEqual([
      { pointer: "/workflow/3/inputs/steps", code: "value_smaller_than_min" },
      { pointer: "/workflow/3/inputs/cfg", code: "value_smaller_than_min" },
      { pointer: "/workflow/4/inputs/ckpt_name", code: "value_not_in_list" },
      { pointer: "/workflow/8/inputs/vae", code: "return_type_mismatch" },
      { pointer: "/workflow/9/inputs/filename_prefix", code: "required_input_missing" },
      { pointer: "/workflow/10/class_type", code: "invalid_prompt" },
    ]);
  });

  it("escapes node ids and input names in pointers (RFC 6901)", ({ expect }) => {
    const wf = graph();
    wf["a/b~c"] = wf["9"]!;
    delete wf["9"];
    delete wf["a/b~c"]!.inputs.images;
    expect(errorsOf(preflight(wf, CATALOG))).toEqual([{ pointer: "/workflow/a~1b~0c/inputs/images", code: "required_input_missing" }]);
    const catalog = structuredClone(CATALOG) as Record<string, { input: { required: Record<string, unknown> } }>;
    catalog.SaveImage!.input.required["x/y~z"] = ["INT", { min: 0 }];
    const odd = graph();
    odd["9"]!.inputs["x/y~z"] = -1;
    expect(errorsOf(preflight(odd, catalog as unknown as Catalog, { base: "/body/workflow" }))).toEqual([
      { pointer: "/body/workflow/9/inputs/x~1y~0z", code: "value_smaller_than_min" },
    ]);
  });

  it("checks only what an output reaches; file inputs are left to the node policy", ({ expect }) => {
    const wf = graph();
    wf["20"] = { class_type: "EmptyLatentImage", inputs: { width: 1 } }; // unreachable: not checked, like ComfyUI
    wf["21"] = { class_type: "LoadImage", inputs: { image: "https://example.com/a.png" } };
    wf["22"] = { class_type: "PreviewImage", inputs: { images: ["21", 0] } };
    expect(preflight(wf, CATALOG)).toMatchObject({ valid: true });
  });

  it("survives cycles and caps the number of errors", ({ expect }) => {
    const wf = graph();
    wf["3"]!.inputs.latent_image = ["8", 0]; // 3 → 8 → 3, and IMAGE is not LATENT
    expect(errorsOf(preflight(wf, CATALOG))).toEqual([{ pointer: "/workflow/3/inputs/latent_image", code: "return_type_mismatch" }]);
    const many: Workflow = {};
    for (let i = 0; i < 300; i++) many[String(i)] = { class_type: "SaveImage", inputs: {} };
    const result = preflight(many, CATALOG, { maxErrors: 10 });
    expect(result).toMatchObject({ valid: false, truncated: true });
    if (!result.valid) expect(result.errors).toHaveLength(10);
  });
});
