/**
 * EmptyAudioEmu and SaveAudioEmu (emulator only): a non-image output.
 *
 * SaveAudioEmu follows ComfyUI's SaveAudio in everything a client sees — default prefix
 * `audio/ComfyUI`, `<prefix>_<counter:05>_.<ext>` naming in the output dir, UI output
 * `{"audio": [{filename, subfolder, type: "output"}]}` — but writes 16-bit PCM WAV instead of
 * FLAC because that needs no codec.
 */
import { writeFileSync } from "node:fs";
import { counterFileName, getSaveImagePath } from "../dirs.ts";
import { encodeWav } from "../media/wav.ts";
import { join } from "../py/path.ts";
import { pyStr } from "../py/values.ts";
import { EMULATOR_CATEGORY, EMULATOR_MODULE, EMULATOR_SOURCE } from "./ksampler-emu.ts";
import { AudioClip, expectAudio, type NodeDefinition } from "./types.ts";

export const emptyAudioEmu: NodeDefinition = {
  classType: "EmptyAudioEmu",
  displayName: "Sine Tone (Emulator)",
  description: "Emulator-only: a mono sine tone as AUDIO.",
  category: EMULATOR_CATEGORY,
  pythonModule: EMULATOR_MODULE,
  functionName: "generate",
  sourceFile: EMULATOR_SOURCE,
  outputNode: false,
  returnTypes: ["AUDIO"],
  inputTypes: () => ({
    required: {
      seconds: ["FLOAT", { default: 1.0, min: 0.01, max: 60.0, step: 0.01 }],
      sample_rate: ["INT", { default: 44100, min: 8000, max: 192000 }],
      frequency: ["FLOAT", { default: 440.0, min: 1.0, max: 20000.0, step: 0.1 }],
    },
  }),
  run(inputs) {
    const rate = inputs.sample_rate as number;
    const frequency = inputs.frequency as number;
    const samples = new Float32Array(Math.max(1, Math.round((inputs.seconds as number) * rate)));
    for (let i = 0; i < samples.length; i++) samples[i] = 0.5 * Math.sin((2 * Math.PI * frequency * i) / rate);
    return { result: [new AudioClip(rate, samples)] };
  },
};

export const saveAudioEmu: NodeDefinition = {
  classType: "SaveAudioEmu",
  displayName: "Save Audio WAV (Emulator)",
  description: "Emulator-only: saves AUDIO as WAV in the output dir, reported like SaveAudio.",
  category: EMULATOR_CATEGORY,
  pythonModule: EMULATOR_MODULE,
  functionName: "save_audio",
  sourceFile: EMULATOR_SOURCE,
  outputNode: true,
  returnTypes: [],
  inputTypes: () => ({
    required: { audio: ["AUDIO"], filename_prefix: ["STRING", { default: "audio/ComfyUI" }] },
    hidden: { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" },
  }),
  run(inputs, ctx) {
    const audio = expectAudio(inputs.audio);
    const path = getSaveImagePath(pyStr(inputs.filename_prefix ?? "ComfyUI"), ctx.dirs.output);
    const file = counterFileName(path.filename, 0, path.counter, "wav");
    writeFileSync(join(path.fullOutputFolder, file), encodeWav(audio.samples, audio.sampleRate));
    return { ui: { audio: [{ filename: file, subfolder: path.subfolder, type: "output" }] } };
  },
};
