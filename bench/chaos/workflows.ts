// The graphs of a chaos run, one per job kind, each carrying the job's nonce in its SaveImage
// prefix (how an emulator's execution log names the job) and its own seed (so no graph is a cache
// hit of another). `failing` fails at run time on every host, after validation passed.
import { DEV_MODELS } from "../../scripts/lib/dev-models.ts";
import type { PlannedJob } from "./plan.ts";

const CHECKPOINT = DEV_MODELS.find((m) => m.folder === "checkpoints")!.name;

export const prefixOf = (nonce: string) => `chaos-${nonce}`;

/** The nonce in a (gpu-backend-rewritten) `filename_prefix` such as `<namespace>/chaos-<nonce>`. */
export function nonceOfPrefix(prefix: string): string | null {
  return /(?:^|\/)chaos-([0-9a-z]+x[0-9a-z]+)$/.exec(prefix)?.[1] ?? null;
}

export function workflowFor(job: PlannedJob): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  const save = (images: [string, number]) => ({ class_type: "SaveImage", inputs: { images, filename_prefix: prefixOf(job.nonce) } });
  switch (job.kind) {
    case "fast":
      return {
        "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: job.seed % 0xffffff } },
        "2": save(["1", 0]),
      };
    case "slow":
      return {
        "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
        "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed: job.seed, steps: job.steps, denoise: 1.0 } },
        "3": save(["2", 0]),
      };
    case "failing":
      return {
        "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
        "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed: job.seed, steps: 4, denoise: 1.0 } },
        "3": { class_type: "RaiseErrorEmu", inputs: { image: ["2", 0], message: `chaos failure ${job.nonce}`, exception_type: "RuntimeError" } },
        "4": save(["3", 0]),
      };
    case "txt2img":
      return {
        "3": {
          class_type: "KSampler",
          inputs: {
            seed: job.seed,
            steps: job.steps,
            cfg: 7,
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
        "5": { class_type: "EmptyLatentImage", inputs: { width: 256, height: 256, batch_size: 1 } },
        "6": { class_type: "CLIPTextEncode", inputs: { text: `a lighthouse at dusk, ${job.nonce}`, clip: ["4", 1] } },
        "7": { class_type: "CLIPTextEncode", inputs: { text: "blurry", clip: ["4", 1] } },
        "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
        "9": save(["8", 0]),
      };
  }
}
