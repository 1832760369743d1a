/**
 * The pixels a decoded latent shows. ComfyUI's come from a diffusion model; the emulator's are a
 * pure function of the latent's provenance, so a test can tell which checkpoint, prompt texts,
 * seed, steps, cfg, sampler, scheduler, LoRAs and denoise reached the sampler by looking at the
 * PNG, and the same inputs give the same bytes on every run.
 *
 * A sampler's result is a diagonal gradient between two colours taken from its digest (and the
 * batch index, as each batch item gets its own noise), laid over what the sampler started from in
 * proportion to its strength (denoise): an empty latent is flat mid-grey, an encoded image is
 * that image.
 */
import type { LatentContent } from "../nodes/model-types.ts";
import { resizeFrame } from "./resize.ts";

const EMPTY_GREY = 128;

type Rgb = [number, number, number];

export function renderContent(content: LatentContent, width: number, height: number, batchIndex: number): Uint8Array {
  switch (content.kind) {
    case "empty":
      return new Uint8Array(width * height * 3).fill(EMPTY_GREY);
    case "pixels": {
      const image = content.image;
      const frame = image.frames[batchIndex % image.frames.length] ?? new Uint8Array(image.width * image.height * 3);
      return resizeFrame(frame, image.width, image.height, width, height);
    }
    case "sampled": {
      const under = renderContent(content.under, width, height, batchIndex);
      const [a, b] = patternColours(content.digest, batchIndex);
      const out = new Uint8Array(width * height * 3);
      const s = content.strength;
      const span = Math.max(1, width - 1 + height - 1);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const t = (x + y) / span;
          const i = (y * width + x) * 3;
          for (let c = 0; c < 3; c++) {
            const pattern = (a[c] as number) + ((b[c] as number) - (a[c] as number)) * t;
            out[i + c] = Math.round((under[i + c] as number) * (1 - s) + pattern * s);
          }
        }
      }
      return out;
    }
  }
}

/** The colour a content averages to: what sampler previews show. */
export function averageColour(content: LatentContent): Rgb {
  switch (content.kind) {
    case "empty":
      return [EMPTY_GREY, EMPTY_GREY, EMPTY_GREY];
    case "pixels": {
      const frame = content.image.frames[0];
      if (!frame || frame.length < 3) return [0, 0, 0];
      return [frame[0] ?? 0, frame[1] ?? 0, frame[2] ?? 0];
    }
    case "sampled": {
      const under = averageColour(content.under);
      const [a, b] = patternColours(content.digest, 0);
      return under.map((u, c) => Math.round(u * (1 - content.strength) + (((a[c] as number) + (b[c] as number)) / 2) * content.strength)) as Rgb;
    }
  }
}

function patternColours(digest: string, batchIndex: number): [Rgb, Rgb] {
  const hex = digest.padEnd(12, "0");
  const byte = (i: number) => (Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16) + batchIndex * 47 * (i + 1)) % 256;
  return [
    [byte(0), byte(1), byte(2)],
    [byte(3), byte(4), byte(5)],
  ];
}
