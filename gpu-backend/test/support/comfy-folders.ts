// ComfyUI 0.3.64's model folder names, in folder_paths.py order (`folder_names_and_paths.keys()`
// at a125cd84, lines 23-51): what a real host answers for `GET /models`. Written out here, not
// taken from the emulator, so the tests compare the emulator with ComfyUI and not with itself.
export const COMFY_0_3_64_FOLDERS: readonly string[] = [
  "checkpoints",
  "configs",
  "loras",
  "vae",
  "text_encoders",
  "diffusion_models",
  "clip_vision",
  "style_models",
  "embeddings",
  "diffusers",
  "vae_approx",
  "controlnet",
  "gligen",
  "upscale_models",
  "custom_nodes",
  "hypernetworks",
  "photomaker",
  "classifiers",
  "model_patches",
  "audio_encoders",
];
