/**
 * What the emulator needs to know of a model family, chosen by a checkpoint's declared
 * architecture (`modelspec.architecture`): the class name ComfyUI logs when it loads it, the
 * latent's channel count, which TAESD decoder gives its previews, and the shapes its text
 * encoder's conditioning has (shown in `current_inputs`). A file that declares nothing, or
 * something unknown, is taken for Stable Diffusion 1.x, the default graph's model.
 */

export interface Architecture {
  /** ComfyUI's model class (`Requested to load SDXL`). */
  modelClass: string;
  latentChannels: number;
  /** File-name prefix of the TAESD decoder in `vae_approx` (`latent_format.taesd_decoder_name`). */
  taesdDecoder: string;
  /** `[tokens, width]` of the conditioning tensor and the pooled output's width. */
  cond: readonly [number, number];
  pooled: number;
}

const SD1: Architecture = { modelClass: "BaseModel", latentChannels: 4, taesdDecoder: "taesd_decoder", cond: [77, 768], pooled: 768 };
const SDXL: Architecture = { modelClass: "SDXL", latentChannels: 4, taesdDecoder: "taesdxl_decoder", cond: [77, 2048], pooled: 1280 };
const SD3: Architecture = { modelClass: "SD3", latentChannels: 16, taesdDecoder: "taesd3_decoder", cond: [154, 4096], pooled: 2048 };
const FLUX: Architecture = { modelClass: "Flux", latentChannels: 16, taesdDecoder: "taef1_decoder", cond: [256, 4096], pooled: 768 };

export function architectureOf(declared: string | undefined): Architecture {
  const name = (declared ?? "").toLowerCase();
  if (name.startsWith("stable-diffusion-xl")) return SDXL;
  if (name.startsWith("stable-diffusion-v3") || name.startsWith("sd3")) return SD3;
  if (name.startsWith("flux")) return FLUX;
  return SD1;
}
