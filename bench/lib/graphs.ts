// ComfyUI's default text-to-image graph (the one its UI loads), on the dev checkpoint, for the
// benchmarks and the chaos soak; the caller picks what varies.
import { DEV_MODELS } from "../../scripts/lib/dev-models.ts";

const CHECKPOINT = DEV_MODELS.find((m) => m.folder === "checkpoints")!.name;

export interface Txt2imgOptions {
  seed: number;
  steps: number;
  size: number;
  prompt: string;
  prefix: string;
}

export type ApiGraph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/** Node "9" is the SaveImage. */
export function txt2imgGraph(o: Txt2imgOptions): ApiGraph {
  return {
    "3": {
      class_type: "KSampler",
      inputs: {
        seed: o.seed,
        steps: o.steps,
        cfg: 8,
        sampler_name: "euler",
        scheduler: "normal",
        denoise: 1,
        model: ["4", 0],
        positive: ["6", 0],
        negative: ["7", 0],
        latent_image: ["5", 0],
      },
    },
    "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: CHECKPOINT } },
    "5": { class_type: "EmptyLatentImage", inputs: { width: o.size, height: o.size, batch_size: 1 } },
    "6": { class_type: "CLIPTextEncode", inputs: { text: o.prompt, clip: ["4", 1] } },
    "7": { class_type: "CLIPTextEncode", inputs: { text: "text, watermark", clip: ["4", 1] } },
    "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
    "9": { class_type: "SaveImage", inputs: { images: ["8", 0], filename_prefix: o.prefix } },
  };
}
