/**
 * Sampler previews as `latent_preview.py` chooses them: none with `--preview-method none`;
 * latent2rgb (`auto` means latent2rgb) gives an image of the latent's size; `taesd` gives a
 * full-size image when the model family's TAESD decoder is in `vae_approx`, and otherwise warns
 * and falls back to latent2rgb. The server then shrinks it to `--preview-size` with PIL's
 * `thumbnail` arithmetic. The frame is a flat colour moving from the starting latent's colour
 * to the result's (the pixels are fake; sizes and timing are what clients see).
 */
import { architectureOf } from "../models/architectures.ts";
import type { ModelHandle } from "./model-types.ts";
import type { NodeRunContext, PreviewFrame } from "./types.ts";

export type Rgb = readonly [number, number, number];

/** The size of the previews a sampler sends, or undefined for none. */
export function previewSize(ctx: NodeRunContext, model: ModelHandle, latentWidth: number, latentHeight: number): { width: number; height: number } | undefined {
  const method = ctx.config.previewMethod;
  if (method === "none") return undefined;
  let width = latentWidth;
  let height = latentHeight;
  if (method === "taesd") {
    const decoder = architectureOf(model.checkpoint.architecture).taesdDecoder;
    if (ctx.models.folders.list("vae_approx").some((name) => name.startsWith(decoder))) {
      width *= 8;
      height *= 8;
    } else ctx.log(`Warning: TAESD previews enabled, but could not find models/vae_approx/${decoder}`);
  }
  return thumbnail(width, height, ctx.config.previewSize);
}

export function previewFrame(size: { width: number; height: number }, from: Rgb, to: Rgb, t: number): PreviewFrame {
  const rgb = from.map((c, i) => Math.round(c + ((to[i] as number) - c) * t)) as [number, number, number];
  return { ...size, rgb };
}

/** PIL `Image.thumbnail((max, max))`: fits within, keeps the aspect ratio, never enlarges. */
export function thumbnail(width: number, height: number, max: number): { width: number; height: number } {
  if (width <= max && height <= max) return { width, height };
  const aspect = width / height;
  const roundAspect = (value: number, key: (n: number) => number) => {
    const lo = Math.floor(value);
    const hi = Math.ceil(value);
    return Math.max(key(lo) <= key(hi) ? lo : hi, 1);
  };
  if (aspect <= 1) return { width: roundAspect(max * aspect, (n) => Math.abs(aspect - n / max)), height: max };
  return { width: max, height: roundAspect(max / aspect, (n) => (n === 0 ? 0 : Math.abs(aspect - max / n))) };
}
