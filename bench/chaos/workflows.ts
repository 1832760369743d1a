// The graphs of a chaos run, one per job kind, each carrying the job's nonce in its SaveImage
// prefix (how an emulator's execution log names the job) and its own seed (so no graph is a cache
// hit of another). `failing` fails at run time on every host, after validation passed.
import { type ApiGraph, txt2imgGraph } from "../lib/graphs.ts";
import type { PlannedJob } from "./plan.ts";

export const prefixOf = (nonce: string) => `chaos-${nonce}`;

/** The nonce in a (gpu-backend-rewritten) `filename_prefix` such as `<namespace>/chaos-<nonce>`. */
export function nonceOfPrefix(prefix: string): string | null {
  return /(?:^|\/)chaos-([0-9a-z]+x[0-9a-z]+)$/.exec(prefix)?.[1] ?? null;
}

export function workflowFor(job: PlannedJob): ApiGraph {
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
      return txt2imgGraph({ seed: job.seed, steps: job.steps, size: 256, prompt: `a lighthouse at dusk, ${job.nonce}`, prefix: prefixOf(job.nonce) });
  }
}
