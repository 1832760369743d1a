// The graph clients submit (ComfyUI's default one, with LoRAs, a VAE, an upscale model, a
// ControlNet, hires fix, img2img) runs end to end, and the PNG it produces is a real image of the
// requested size whose pixels are a function of exactly the inputs that reach the sampler.
import { describe, it } from "vitest";
import type { EmulatorHandle } from "../../emulator/index.ts";
import { decodePng } from "../../emulator/media/png.ts";
import { pngSize } from "./conformance-support.ts";
import { queuePrompt, startTestEmulator, WsRecorder, waitForHistory } from "./harness.ts";
import { type DefaultGraph, defaultGraph, installModels, savedImage, viewBytes, withLora } from "./model-support.ts";

const MODELS = {
  "checkpoints/sd15.safetensors": { architecture: "stable-diffusion-v1", sizeBytes: 2_000_000 },
  "checkpoints/other.safetensors": { architecture: "stable-diffusion-v1", sizeBytes: 2_000_000 },
  "loras/style.safetensors": { sizeBytes: 100_000 },
  "vae/vae-ft-mse.safetensors": { sizeBytes: 300_000 },
  "controlnet/canny.safetensors": { sizeBytes: 700_000 },
  "upscale_models/4x-UltraSharp.pth": { sizeBytes: 60_000 },
  "upscale_models/2x-Small.pth": { sizeBytes: 60_000 },
};

async function modelEmulator(): Promise<EmulatorHandle> {
  // No metadata chunks: the PNG bytes are then the pixels alone, whatever the prompt's text.
  const emulator = await startTestEmulator({ disableMetadata: true });
  installModels(emulator, MODELS);
  return emulator;
}

type Workflow = ReturnType<typeof defaultGraph>;

async function run(emulator: EmulatorHandle, prompt: Workflow, saveNode = "9"): Promise<{ png: Buffer; history: Record<string, unknown> }> {
  const promptId = await queuePrompt(emulator, prompt, undefined);
  const history = await waitForHistory(emulator, promptId, 20_000);
  const status = history.status as { status_str: string; messages: unknown[] };
  if (status.status_str !== "success") throw new Error(`prompt failed: ${JSON.stringify(status.messages)}`);
  return { png: await viewBytes(emulator, savedImage(history, saveNode)), history };
}

const pixels = (png: Buffer) => Buffer.from(decodePng(png).data).toString("base64");

describe("the default graph", () => {
  it("saves a PNG of the requested size, one file per batch item, each different", async ({ expect }) => {
    const emulator = await modelEmulator();
    const promptId = await queuePrompt(emulator, defaultGraph({ width: 96, height: 72, batch: 2 }), undefined);
    const history = await waitForHistory(emulator, promptId, 20_000);
    const images = (history.outputs as Record<string, { images: Array<{ filename: string; subfolder: string; type: string }> }>)["9"]?.images ?? [];
    expect(images.map((i) => i.filename)).toEqual(["ComfyUI_00001_.png", "ComfyUI_00002_.png"]);
    const [first, second] = await Promise.all(images.map((i) => viewBytes(emulator, i)));
    expect(pngSize(first as Buffer)).toEqual({ width: 96, height: 72 });
    expect(pixels(first as Buffer)).not.toBe(pixels(second as Buffer));
  });

  it("decodes a latent of width/8 × height/8: 100 × 60 requested gives 96 × 56", async ({ expect }) => {
    const emulator = await modelEmulator();
    const { png } = await run(emulator, defaultGraph({ width: 100, height: 60 }));
    expect(pngSize(png)).toEqual({ width: 96, height: 56 });
  });

  it("gives the same pixels for the same inputs on another emulator, and other pixels when any sampler input changes", async ({ expect }) => {
    const base: DefaultGraph = {};
    const first = await modelEmulator();
    const baseline = pixels((await run(first, defaultGraph(base))).png);
    const second = await modelEmulator();
    expect(pixels((await run(second, defaultGraph(base))).png)).toBe(baseline);

    const variants: Array<[string, Workflow]> = [
      ["seed", defaultGraph({ seed: 43 })],
      ["positive text", defaultGraph({ positive: "a photo of a dog" })],
      ["negative text", defaultGraph({ negative: "low quality" })],
      ["checkpoint", defaultGraph({ ckpt: "other.safetensors" })],
      ["steps", defaultGraph({ steps: 4 })],
      ["cfg", defaultGraph({ cfg: 7.5 })],
      ["sampler", defaultGraph({ sampler: "dpmpp_2m" })],
      ["scheduler", defaultGraph({ scheduler: "karras" })],
      ["denoise", defaultGraph({ denoise: 0.9 })],
      ["LoRA", withLora(defaultGraph(), "style.safetensors", 1, 1)],
      ["LoRA strength", withLora(defaultGraph(), "style.safetensors", 0.5, 1)],
      ["LoRA clip strength", withLora(defaultGraph(), "style.safetensors", 1, 0.5)],
    ];
    const seen = new Map<string, string>([[baseline, "baseline"]]);
    for (const [what, prompt] of variants) {
      const image = pixels((await run(first, prompt)).png);
      expect(seen.get(image), what).toBeUndefined();
      seen.set(image, what);
    }
    // LoraLoader with both strengths 0 hands its inputs through: the baseline again.
    expect(pixels((await run(second, withLora(defaultGraph({ prefix: "zero" }), "style.safetensors", 0, 0))).png)).toBe(baseline);
  });

  it("honours CLIPSetLastLayer, a VAELoader's VAE and a ControlNet on both conditionings", async ({ expect }) => {
    const emulator = await modelEmulator();
    const baseline = pixels((await run(emulator, defaultGraph())).png);

    const lastLayer = defaultGraph();
    lastLayer["11"] = { class_type: "CLIPSetLastLayer", inputs: { clip: ["4", 1], stop_at_clip_layer: -2 } };
    lastLayer["6"]!.inputs.clip = ["11", 0];
    lastLayer["7"]!.inputs.clip = ["11", 0];
    const clipSkip = pixels((await run(emulator, lastLayer)).png);
    expect(clipSkip).not.toBe(baseline);

    const vae = defaultGraph({ prefix: "vae" });
    vae["12"] = { class_type: "VAELoader", inputs: { vae_name: "vae-ft-mse.safetensors" } };
    vae["8"]!.inputs.vae = ["12", 0];
    const { png } = await run(emulator, vae);
    expect(pngSize(png)).toEqual({ width: 64, height: 64 });

    const control = defaultGraph();
    control["13"] = { class_type: "ControlNetLoader", inputs: { control_net_name: "canny.safetensors" } };
    control["14"] = { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0xffffff } };
    control["15"] = {
      class_type: "ControlNetApplyAdvanced",
      inputs: { positive: ["6", 0], negative: ["7", 0], control_net: ["13", 0], image: ["14", 0], strength: 0.8, start_percent: 0, end_percent: 1 },
    };
    control["3"]!.inputs.positive = ["15", 0];
    control["3"]!.inputs.negative = ["15", 1];
    const controlled = pixels((await run(emulator, control)).png);
    expect([baseline, clipSkip]).not.toContain(controlled);

    // Strength 0 applies nothing: the baseline's pixels.
    control["15"]!.inputs.strength = 0;
    control["9"]!.inputs.filename_prefix = "zero";
    expect(pixels((await run(emulator, control)).png)).toBe(baseline);
  });

  it("upscales with a model by its factor, and with ImageScale and LatentUpscale to the sizes asked", async ({ expect }) => {
    const emulator = await modelEmulator();
    const graph = defaultGraph({ width: 64, height: 48 });
    graph["16"] = { class_type: "UpscaleModelLoader", inputs: { model_name: "4x-UltraSharp.pth" } };
    graph["17"] = { class_type: "ImageUpscaleWithModel", inputs: { upscale_model: ["16", 0], image: ["8", 0] } };
    graph["18"] = { class_type: "SaveImage", inputs: { images: ["17", 0], filename_prefix: "up" } };
    graph["19"] = { class_type: "ImageScale", inputs: { image: ["17", 0], upscale_method: "lanczos", width: 100, height: 0, crop: "disabled" } };
    graph["20"] = { class_type: "SaveImage", inputs: { images: ["19", 0], filename_prefix: "scaled" } };
    const { history } = await run(emulator, graph);
    expect(pngSize(await viewBytes(emulator, savedImage(history, "18")))).toEqual({ width: 256, height: 192 });
    // A 0 side follows the aspect ratio: round(192 * 100 / 256) = 75.
    expect(pngSize(await viewBytes(emulator, savedImage(history, "20")))).toEqual({ width: 100, height: 75 });

    // Hires fix: LatentUpscale then a second KSampler at denoise 0.5.
    const hires = defaultGraph({ width: 64, height: 64 });
    hires["21"] = { class_type: "LatentUpscale", inputs: { samples: ["3", 0], upscale_method: "nearest-exact", width: 128, height: 96, crop: "center" } };
    hires["22"] = { class_type: "KSampler", inputs: { ...hires["3"]!.inputs, latent_image: ["21", 0], denoise: 0.5 } };
    hires["8"]!.inputs.samples = ["22", 0];
    expect(pngSize((await run(emulator, hires)).png)).toEqual({ width: 128, height: 96 });
  });

  it("img2img: VAEEncode crops to whole latent cells, and denoise decides how much of the image survives", async ({ expect }) => {
    const emulator = await modelEmulator();
    const img2img = (denoise: number, prefix: string): Workflow => {
      const graph = defaultGraph({ denoise, prefix });
      graph["23"] = { class_type: "EmptyImage", inputs: { width: 70, height: 66, batch_size: 1, color: 0x2040c0 } };
      graph["24"] = { class_type: "VAEEncode", inputs: { pixels: ["23", 0], vae: ["4", 2] } };
      graph["3"]!.inputs.latent_image = ["24", 0];
      return graph;
    };
    const strong = decodePng((await run(emulator, img2img(1, "strong"))).png);
    const weak = decodePng((await run(emulator, img2img(0.25, "weak"))).png);
    expect([strong.width, strong.height]).toEqual([64, 64]);
    const distance = (img: { data: Uint8Array }) =>
      Math.abs((img.data[0] ?? 0) - 0x20) + Math.abs((img.data[1] ?? 0) - 0x40) + Math.abs((img.data[2] ?? 0) - 0xc0);
    expect(distance(weak)).toBeLessThan(distance(strong));
  });

  it("reports one progress per sampler step with ComfyUI's shape, also for KSamplerAdvanced's step window", async ({ expect }) => {
    const emulator = await modelEmulator();
    const ws = await WsRecorder.connect(emulator, "c1");
    const promptId = await queuePrompt(emulator, defaultGraph({ steps: 4, denoise: 0.5 }), "c1");
    await ws.waitForDone(promptId, 20_000);
    const progress = ws.messages.filter((m) => m.type === "progress" && m.data.prompt_id === promptId).map((m) => m.data);
    // denoise < 1 still runs `steps` steps (ComfyUI stretches the schedule instead).
    expect(progress).toEqual([1, 2, 3, 4].map((value) => ({ value, max: 4, prompt_id: promptId, node: "3" })));

    const advanced = defaultGraph({ prefix: "adv" });
    const { seed, denoise, ...rest } = advanced["3"]!.inputs;
    advanced["3"] = {
      class_type: "KSamplerAdvanced",
      inputs: { ...rest, add_noise: "enable", noise_seed: seed, steps: 10, start_at_step: 2, end_at_step: 7, return_with_leftover_noise: "disable" },
    };
    const second = await queuePrompt(emulator, advanced, "c1");
    await ws.waitForDone(second, 20_000);
    const steps = ws.messages.filter((m) => m.type === "progress" && m.data.prompt_id === second).map((m) => [m.data.value, m.data.max]);
    expect(steps).toEqual([1, 2, 3, 4, 5].map((v) => [v, 5]));

    // start_at_step past the end: the latent comes back untouched, nothing is sampled.
    advanced["3"]!.inputs.start_at_step = 12;
    advanced["9"]!.inputs.filename_prefix = "none";
    const third = await queuePrompt(emulator, advanced, "c1");
    await ws.waitForDone(third, 20_000);
    expect(ws.messages.filter((m) => m.type === "progress" && m.data.prompt_id === third)).toEqual([]);
  });
});
