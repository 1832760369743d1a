// GET /object_info: entries shaped as server.py's node_info() builds them, for real node names
// with ComfyUI's own definitions, and `{}` for unknown classes.
import { describe, it } from "vitest";
import { get, startTestEmulator } from "./harness.ts";

describe("/object_info", () => {
  it("describes EmptyImage exactly as ComfyUI 0.3.64 does", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await get(emulator, "/object_info/EmptyImage");
    expect(res.json).toEqual({
      EmptyImage: {
        input: {
          required: {
            width: ["INT", { default: 512, min: 1, max: 16384, step: 1 }],
            height: ["INT", { default: 512, min: 1, max: 16384, step: 1 }],
            batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
            color: ["INT", { default: 0, min: 0, max: 16777215, step: 1, display: "color" }],
          },
        },
        input_order: { required: ["width", "height", "batch_size", "color"] },
        output: ["IMAGE"],
        output_is_list: [false],
        output_name: ["IMAGE"],
        name: "EmptyImage",
        display_name: "EmptyImage",
        description: "",
        python_module: "nodes",
        category: "image",
        output_node: false,
      },
    });
  });

  it("describes SaveImage and PreviewImage with hidden inputs and output_node", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const all = (await get(emulator, "/object_info")).json as Record<string, Record<string, unknown>>;
    expect(all.SaveImage).toMatchObject({
      input: {
        required: { images: ["IMAGE", { tooltip: "The images to save." }], filename_prefix: ["STRING", expect.objectContaining({ default: "ComfyUI" })] },
        hidden: { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" },
      },
      input_order: { required: ["images", "filename_prefix"], hidden: ["prompt", "extra_pnginfo"] },
      output: [],
      output_node: true,
      display_name: "Save Image",
      description: "Saves the input images to your ComfyUI output directory.",
    });
    expect(all.PreviewImage?.input).toEqual({ required: { images: ["IMAGE"] }, hidden: { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" } });
    expect(all.ImageInvert).toMatchObject({ display_name: "Invert Image", output: ["IMAGE"], category: "image" });
    expect(all.LoadImage).toMatchObject({ output: ["IMAGE", "MASK"], input: { required: { image: [[], { image_upload: true }] } } });
    // Emulator-only nodes are marked as a custom node module.
    for (const name of ["KSamplerEmu", "SaveAudioEmu", "RaiseErrorEmu", "OOMEmu", "HangEmu", "GateEmu", "DelayEmu", "CrashEmu", "EmptyAudioEmu"]) {
      expect(all[name]?.python_module).toBe("custom_nodes.comfyui-emulator");
    }
    // Classic (v1) classes; comfy_api (v3) ones put output_tooltips before name (conformance-object-info.test.ts).
    for (const info of Object.values(all).filter((i) => !String(i.python_module).startsWith("comfy_extras."))) {
      expect(Object.keys(info).slice(0, 11)).toEqual([
        "input",
        "input_order",
        "output",
        "output_is_list",
        "output_name",
        "name",
        "display_name",
        "description",
        "python_module",
        "category",
        "output_node",
      ]);
    }
  });

  it("answers {} for an unknown class", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await get(emulator, "/object_info/ImageBlur");
    expect([res.status, res.json]).toEqual([200, {}]);
  });
});
