// Conformance with a real ComfyUI 0.3.64, part 3: every node class the emulator implements
// that ComfyUI has is described by `/object_info` exactly as the recorded one (00_object_info_all.json:
// 383 classes), field for field and in the same key order. Emulator-only classes (`*Emu`) are
// skipped. The only file combo, LoadImage's, lists the input folder: the emulator gets the
// `example.png` that ComfyUI ships, so it is compared too.
import { describe, it } from "vitest";
import { addExampleImage, recording } from "./conformance-support.ts";
import { get, startTestEmulator } from "./harness.ts";

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
    expect(real).toEqual(["EmptyImage", "LoadImage", "ImageInvert", "SaveImage", "PreviewImage"]);
    for (const name of real) {
      expect(actual[name], name).toEqual(recorded[name]);
      // Same key order too (JSON text as a client reads it).
      expect(JSON.stringify(actual[name]), name).toBe(JSON.stringify(recorded[name]));
    }
  });
});
