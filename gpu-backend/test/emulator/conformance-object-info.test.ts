// Conformance with a real ComfyUI 0.3.64, part 3: every node class the emulator implements
// that ComfyUI has is described by `/object_info` exactly as the recorded one (00_object_info_all.json:
// 383 classes), field for field and in the same key order. Emulator-only classes (`*Emu`) are
// skipped. The only file combo, LoadImage's, lists the input folder: the emulator gets the
// `example.png` that ComfyUI ships, so it is compared too. The recording had no model files, so
// its model combos are empty; with models installed, those lists (and nothing else) change to
// the files present, sorted.
import { join } from "node:path";
import { describe, it } from "vitest";
import { writeFakeModel } from "../../emulator/models/safetensors.ts";
import { addExampleImage, recording } from "./conformance-support.ts";
import { get, startTestEmulator } from "./harness.ts";

const REAL_CLASSES = [
  "KSampler",
  "CheckpointLoaderSimple",
  "CLIPTextEncode",
  "CLIPSetLastLayer",
  "VAEDecode",
  "VAEEncode",
  "VAELoader",
  "EmptyLatentImage",
  "LatentUpscale",
  "SaveImage",
  "PreviewImage",
  "LoadImage",
  "ImageScale",
  "ImageInvert",
  "EmptyImage",
  "KSamplerAdvanced",
  "LoraLoader",
  "ControlNetApplyAdvanced",
  "ControlNetLoader",
  "LoraLoaderModelOnly",
  "UpscaleModelLoader",
  "ImageUpscaleWithModel",
];

type Info = Record<string, { input: { required: Record<string, unknown[]> } }>;

describe("conformance with ComfyUI 0.3.64: /object_info entries", () => {
  it("equals the recorded entry of every real class the emulator has", async ({ expect }) => {
    const recorded = recording("00_object_info_all.json").json as Record<string, unknown>;
    expect(Object.keys(recorded)).toHaveLength(383);
    const emulator = await startTestEmulator();
    addExampleImage(emulator);
    const actual = (await get(emulator, "/object_info")).json as Record<string, unknown>;

    const real = Object.keys(actual).filter((name) => !name.endsWith("Emu"));
    // A class ComfyUI 0.3.64 does not have would be an invention of the emulator.
    expect(real.filter((name) => !Object.hasOwn(recorded, name))).toEqual([]);
    expect(real).toEqual(REAL_CLASSES);
    // In NODE_CLASS_MAPPINGS order, as ComfyUI lists them.
    expect(real).toEqual(Object.keys(recorded).filter((name) => real.includes(name)));
    for (const name of real) {
      expect(actual[name], name).toEqual(recorded[name]);
      // Same key order too (JSON text as a client reads it).
      expect(JSON.stringify(actual[name]), name).toBe(JSON.stringify(recorded[name]));
    }
  });

  it("writes KSampler's seed maximum digit for digit (2^64 - 1 is not a double)", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const text = (await get(emulator, "/object_info/KSampler")).text;
    expect(text).toContain('"max": 18446744073709551615,');
  });

  it("with model files installed, differs from the recording only in the model combos, which list the files sorted", async ({ expect }) => {
    const recorded = recording("00_object_info_all.json").json as Info;
    const emulator = await startTestEmulator();
    addExampleImage(emulator);
    const models = join(emulator.dirs.base, "models");
    const files = [
      "checkpoints/sd15.safetensors",
      "checkpoints/sdxl/base.safetensors",
      "checkpoints/Alpha.ckpt",
      "loras/style.safetensors",
      "vae/vae-ft-mse.safetensors",
      "vae_approx/taesd_decoder.pth",
      "vae_approx/taesd_encoder.pth",
      "controlnet/canny.safetensors",
      "t2i_adapter/depth.pth",
      "upscale_models/4x-UltraSharp.pth",
    ];
    for (const file of files) writeFakeModel(join(models, file));

    const actual = (await get(emulator, "/object_info")).json as Info;
    const expected = structuredClone(recorded);
    const set = (name: string, input: string, list: string[]) => {
      const spec = expected[name]?.input.required[input] as unknown[];
      if (Array.isArray(spec[0])) spec[0] = list;
      else (spec[1] as { options: string[] }).options = list;
    };
    set("CheckpointLoaderSimple", "ckpt_name", ["Alpha.ckpt", "sd15.safetensors", "sdxl/base.safetensors"]);
    set("LoraLoader", "lora_name", ["style.safetensors"]);
    set("LoraLoaderModelOnly", "lora_name", ["style.safetensors"]);
    set("VAELoader", "vae_name", ["vae-ft-mse.safetensors", "taesd", "pixel_space"]);
    set("ControlNetLoader", "control_net_name", ["canny.safetensors", "depth.pth"]);
    set("UpscaleModelLoader", "model_name", ["4x-UltraSharp.pth"]);
    for (const name of REAL_CLASSES) expect(JSON.stringify(actual[name]), name).toBe(JSON.stringify(expected[name]));
  });
});
