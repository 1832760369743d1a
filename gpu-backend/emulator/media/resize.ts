/**
 * `comfy.utils.common_upscale` for 8-bit RGB frames: optional centre crop to the target's aspect
 * ratio (ComfyUI's `crop="center"` arithmetic, Python rounding included), then a
 * nearest-neighbour resample. ComfyUI's other methods (bilinear, bicubic, area, lanczos, bislerp)
 * change pixel values only, which no client reads; they all resample like this.
 */
import { pyRound } from "../py/values.ts";

export type Crop = "disabled" | "center";

export function resizeFrame(frame: Uint8Array, width: number, height: number, newWidth: number, newHeight: number, crop: Crop = "disabled"): Uint8Array {
  let x0 = 0;
  let y0 = 0;
  let w = width;
  let h = height;
  if (crop === "center" && width > 0 && height > 0 && newHeight > 0) {
    const oldAspect = width / height;
    const newAspect = newWidth / newHeight;
    if (oldAspect > newAspect) x0 = pyRound((width - width * (newAspect / oldAspect)) / 2);
    else if (oldAspect < newAspect) y0 = pyRound((height - height * (oldAspect / newAspect)) / 2);
    w = width - x0 * 2;
    h = height - y0 * 2;
  }
  if (x0 === 0 && y0 === 0 && w === newWidth && h === newHeight) return frame;
  const out = new Uint8Array(newWidth * newHeight * 3);
  for (let y = 0; y < newHeight; y++) {
    const sy = y0 + Math.min(h - 1, Math.floor(((y + 0.5) * h) / newHeight));
    for (let x = 0; x < newWidth; x++) {
      const sx = x0 + Math.min(w - 1, Math.floor(((x + 0.5) * w) / newWidth));
      const from = (sy * width + sx) * 3;
      const to = (y * newWidth + x) * 3;
      out[to] = frame[from] ?? 0;
      out[to + 1] = frame[from + 1] ?? 0;
      out[to + 2] = frame[from + 2] ?? 0;
    }
  }
  return out;
}

/** A `width`×`height` window of a frame, starting at (`x0`, `y0`). */
export function cropFrame(frame: Uint8Array, width: number, x0: number, y0: number, cropWidth: number, cropHeight: number): Uint8Array {
  const out = new Uint8Array(cropWidth * cropHeight * 3);
  for (let y = 0; y < cropHeight; y++) {
    const from = ((y0 + y) * width + x0) * 3;
    out.set(frame.subarray(from, from + cropWidth * 3), y * cropWidth * 3);
  }
  return out;
}
