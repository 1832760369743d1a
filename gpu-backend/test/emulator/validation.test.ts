// POST /prompt validation: the exact 400 bodies of validate_prompt (protocol reference §3.2/3.3).
import { describe, it } from "vitest";
import { get, post, startTestEmulator } from "./harness.ts";

const EMPTY_IMAGE_WIDTH = ["INT", { default: 512, min: 1, max: 16384, step: 1 }];
const emptyImage = (inputs: Record<string, unknown> = {}) => ({
  class_type: "EmptyImage",
  inputs: { width: 64, height: 64, batch_size: 1, color: 0, ...inputs },
});
const saveImage = (from = "1") => ({ class_type: "SaveImage", inputs: { images: [from, 0], filename_prefix: "x" } });

describe("prompt validation", () => {
  it("answers a body without `prompt` with no_prompt", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", { client_id: "c" });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: { type: "no_prompt", message: "No prompt provided", details: "No prompt provided", extra_info: {} },
      node_errors: {},
    });
  });

  it("rejects a node without class_type and an unknown class at once", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const missing = await post(emulator, "/prompt", { prompt: { "1": emptyImage(), "7": { inputs: {} }, "2": saveImage() } });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({
      error: { type: "invalid_prompt", message: "Cannot execute because a node is missing the class_type property.", details: "Node ID '#7'", extra_info: {} },
      node_errors: {},
    });
    const unknown = await post(emulator, "/prompt", { prompt: { "1": { class_type: "NoSuchNode", inputs: {} }, "2": saveImage() } });
    expect(unknown.json).toEqual({
      error: { type: "invalid_prompt", message: "Cannot execute because node NoSuchNode does not exist.", details: "Node ID '#1'", extra_info: {} },
      node_errors: {},
    });
  });

  it("rejects a prompt without output nodes", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", { prompt: { "1": emptyImage() } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: { type: "prompt_no_outputs", message: "Prompt has no outputs", details: "", extra_info: {} },
      node_errors: {},
    });
  });

  it("reports a missing required input on the output node itself in `details`", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", { prompt: { "2": { class_type: "SaveImage", inputs: { filename_prefix: "x" } } } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: {
        type: "prompt_outputs_failed_validation",
        message: "Prompt outputs failed validation",
        details: "Required input is missing: images",
        extra_info: {},
      },
      node_errors: {
        "2": {
          errors: [{ type: "required_input_missing", message: "Required input is missing", details: "images", extra_info: { input_name: "images" } }],
          dependent_outputs: ["2"],
          class_type: "SaveImage",
        },
      },
    });
  });

  it("reports an upstream error only in node_errors (details stays empty): the reference example", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", { prompt: { "1": emptyImage({ width: 0 }), "2": saveImage() } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: { type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation", details: "", extra_info: {} },
      node_errors: {
        "1": {
          errors: [
            {
              type: "value_smaller_than_min",
              message: "Value 0 smaller than min of 1",
              details: "width",
              extra_info: { input_name: "width", input_config: EMPTY_IMAGE_WIDTH, received_value: 0 },
            },
          ],
          dependent_outputs: ["2"],
          class_type: "EmptyImage",
        },
      },
    });
  });

  it("reports max, bad types and bad combo values with ComfyUI's texts", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", {
      prompt: {
        "1": emptyImage({ width: 20000, height: "abc", color: "12" }),
        "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed: 0, steps: 2, denoise: 1.5, sampler_name: "bogus" } },
        "3": saveImage("2"),
      },
    });
    expect(res.status).toBe(400);
    const nodeErrors = (res.json as { node_errors: Record<string, { errors: unknown[] }> }).node_errors;
    expect(nodeErrors["1"]?.errors).toEqual([
      {
        type: "value_bigger_than_max",
        message: "Value 20000 bigger than max of 16384",
        details: "width",
        extra_info: { input_name: "width", input_config: EMPTY_IMAGE_WIDTH, received_value: 20000 },
      },
      {
        type: "invalid_input_type",
        message: "Failed to convert an input value to a INT value",
        details: "height, abc, invalid literal for int() with base 10: 'abc'",
        extra_info: {
          input_name: "height",
          input_config: ["INT", { default: 512, min: 1, max: 16384, step: 1 }],
          received_value: "abc",
          exception_message: "invalid literal for int() with base 10: 'abc'",
        },
      },
    ]);
    expect(nodeErrors["2"]?.errors).toEqual([
      {
        type: "value_bigger_than_max",
        message: "Value 1.5 bigger than max of 1.0",
        details: "denoise",
        extra_info: { input_name: "denoise", input_config: ["FLOAT", { default: 1, min: 0, max: 1, step: 0.01 }], received_value: 1.5 },
      },
      {
        type: "value_not_in_list",
        message: "Value not in list",
        details: "sampler_name: 'bogus' not in ['euler', 'euler_ancestral', 'heun', 'dpm_2', 'dpmpp_2m', 'dpmpp_sde', 'ddim', 'uni_pc']",
        extra_info: {
          input_name: "sampler_name",
          input_config: [["euler", "euler_ancestral", "heun", "dpm_2", "dpmpp_2m", "dpmpp_sde", "ddim", "uni_pc"], { default: "euler" }],
          received_value: "bogus",
        },
      },
    ]);
    expect(Object.keys(nodeErrors).sort()).toEqual(["1", "2"]);
  });

  it("treats a link to a missing node as an exception, on the output or on the linked node", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const direct = await post(emulator, "/prompt", { prompt: { "2": saveImage("99") } });
    expect(direct.status).toBe(400);
    const directErrors = direct.json as { error: { details: string }; node_errors: Record<string, { errors: Array<Record<string, unknown>> }> };
    expect(directErrors.error.details).toBe("Exception when validating node: '99'");
    const onOutput = directErrors.node_errors["2"]?.errors[0];
    expect(onOutput).toMatchObject({ type: "exception_during_validation", message: "Exception when validating node", details: "'99'" });
    expect((onOutput!.extra_info as Record<string, unknown>).exception_type).toBe("KeyError");
    expect((onOutput!.extra_info as { traceback: string[] }).traceback.every((line) => line.startsWith("  File "))).toBe(true);

    const inner = await post(emulator, "/prompt", {
      prompt: { "2": { class_type: "ImageInvert", inputs: { image: ["99", 0] } }, "3": saveImage("2") },
    });
    const innerErrors = inner.json as {
      error: { details: string };
      node_errors: Record<string, { errors: Array<Record<string, unknown>>; dependent_outputs: string[] }>;
    };
    expect(innerErrors.error.details).toBe("");
    expect(innerErrors.node_errors["2"]?.dependent_outputs).toEqual(["3"]);
    expect(innerErrors.node_errors["2"]?.errors[0]).toMatchObject({
      type: "exception_during_inner_validation",
      message: "Exception when validating inner node",
      details: "'99'",
      extra_info: { input_name: "images", exception_message: "'99'", exception_type: "KeyError", linked_node: ["2", 0] },
    });
  });

  it("reports malformed links and type mismatches as input errors", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", {
      prompt: {
        "1": emptyImage(),
        "2": { class_type: "SaveImage", inputs: { images: ["1", 0, 0], filename_prefix: "x" } },
        "3": { class_type: "SaveAudioEmu", inputs: { audio: ["1", 0], filename_prefix: "a" } },
      },
    });
    const errors = (res.json as { node_errors: Record<string, { errors: unknown[] }> }).node_errors;
    expect(errors["2"]?.errors).toEqual([
      {
        type: "bad_linked_input",
        message: "Bad linked input, must be a length-2 list of [node_id, slot_index]",
        details: "images",
        extra_info: { input_name: "images", input_config: ["IMAGE", { tooltip: "The images to save." }], received_value: ["1", 0, 0] },
      },
    ]);
    expect(errors["3"]?.errors).toEqual([
      {
        type: "return_type_mismatch",
        message: "Return type mismatch between linked nodes",
        details: "audio, received_type(IMAGE) mismatch input_type(AUDIO)",
        extra_info: { input_name: "audio", input_config: ["AUDIO", {}], received_type: "IMAGE", linked_node: ["1", 0] },
      },
    ]);
  });

  it("runs LoadImage's own validator instead of the combo check", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", { prompt: { "1": { class_type: "LoadImage", inputs: { image: "nope.png" } }, "2": saveImage() } });
    expect((res.json as { node_errors: unknown }).node_errors).toEqual({
      "1": {
        errors: [
          {
            type: "custom_validation_failed",
            message: "Custom validation failed for node",
            details: "image - Invalid image file: nope.png",
            extra_info: { input_name: "image" },
          },
        ],
        dependent_outputs: ["2"],
        class_type: "LoadImage",
      },
    });
  });

  it("converts constants in place, so the queued prompt shows the converted values", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", {
      prompt: {
        "1": emptyImage({ width: "64", height: 32.9 }),
        "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: { __value__: "wrapped" } } },
      },
      prompt_id: "p-1",
    });
    expect(res.status).toBe(200);
    let entry: { prompt: unknown[] } | undefined;
    for (let i = 0; i < 100 && !entry; i++) {
      entry = ((await get(emulator, "/history/p-1")).json as Record<string, { prompt: unknown[] }>)["p-1"];
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    const queued = entry?.prompt[2] as Record<string, { inputs: Record<string, unknown> }>;
    expect(queued["1"]?.inputs).toMatchObject({ width: 64, height: 32 });
    expect(queued["2"]?.inputs.filename_prefix).toBe("wrapped");
  });

  it("answers an unparsable body or a non-dict prompt with aiohttp's plain-text 500", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const broken = await post(emulator, "/prompt", "{not json");
    expect(broken.status).toBe(500);
    expect(broken.text).toBe("500 Internal Server Error\n\nServer got itself in trouble");
    const numberPrompt = await post(emulator, "/prompt", { prompt: 5 });
    expect(numberPrompt.status).toBe(500);
  });
});
