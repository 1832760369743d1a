/** Workflows (ComfyUI API format) the tests and the benchmark send, built from the emulator's nodes. */
import { encodePng } from "../../emulator/media/png.ts";

type Workflow = Record<string, unknown>;

/** EmptyImage "1" → SaveImage "2". */
export function minimal(prefix = "ComfyUI", color = 0xff0000): Workflow {
  return {
    "1": { class_type: "EmptyImage", inputs: { width: 16, height: 16, batch_size: 1, color } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: prefix } },
  };
}

/** EmptyImage → KSamplerEmu (`steps` × `stepMs`, a progress event per step) → SaveImage. */
export function sampler(steps: number, stepMs: number, prefix = "sampled"): Workflow {
  return {
    "1": { class_type: "EmptyImage", inputs: { width: 16, height: 16, batch_size: 1, color: 0x123456 } },
    "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed: 7, steps, denoise: 1, step_ms: stepMs } },
    "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: prefix } },
  };
}

/**
 * EmptyImage "1" → GateEmu "2" → SaveImage "3": the job stays running until the test calls
 * `emulator.openGate(gate)` (or interrupts it), so a test never has to guess how long "long
 * enough" is. With `progressMs` the gate reports a progress step that often, like a sampler.
 */
export function gated(gate: string, opts: { prefix?: string; progressMs?: number } = {}): Workflow {
  return {
    "1": { class_type: "EmptyImage", inputs: { width: 16, height: 16, batch_size: 1, color: 0x654321 } },
    "2": { class_type: "GateEmu", inputs: { image: ["1", 0], name: gate, step_ms: opts.progressMs ?? 0 } },
    "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: opts.prefix ?? "gated" } },
  };
}

/** A 2-image batch saved (2 files) and previewed (2 temp files), and a WAV file: five outputs from three nodes. */
export function multiOutput(): Workflow {
  return {
    "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 2, color: 0x00ff00 } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "pics/out" } },
    "3": { class_type: "PreviewImage", inputs: { images: ["1", 0] } },
    "4": { class_type: "EmptyAudioEmu", inputs: { seconds: 0.05, sample_rate: 8000, frequency: 440 } },
    "5": { class_type: "SaveAudioEmu", inputs: { audio: ["4", 0], filename_prefix: "audio/ComfyUI" } },
  };
}

/** LoadImage "1" (its `image` filled in from an input) → ImageInvert → SaveImage. */
export function invert(): Workflow {
  return {
    "1": { class_type: "LoadImage", inputs: { image: "placeholder.png" } },
    "2": { class_type: "ImageInvert", inputs: { image: ["1", 0] } },
    "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "inverted" } },
  };
}

/** One failure node after a tiny image (RaiseErrorEmu, OOMEmu, HangEmu, CrashEmu, DelayEmu). */
export function failing(classType: string, inputs: Record<string, unknown> = {}): Workflow {
  return {
    "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
    "2": { class_type: classType, inputs: { image: ["1", 0], ...inputs } },
  };
}

/** A real PNG of one flat colour. */
export function png(width: number, height: number, rgb: [number, number, number]): Buffer {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return encodePng({ width, height, channels: 3, data });
}
