/**
 * The model side of one emulated ComfyUI: its model folders (defaults, then each
 * `--extra-model-paths-config` in order, then the output-dir folders main.py adds for
 * CheckpointSave & co.) and its VRAM.
 */
import { resolve } from "node:path";
import type { EmulatorConfig } from "../config.ts";
import type { WorkDirs } from "../dirs.ts";
import type { Lifecycle } from "../lifecycle.ts";
import { cudaOutOfMemory } from "../nodes/oom.ts";
import * as py from "../py/path.ts";
import { loadExtraModelPaths } from "./extra-paths.ts";
import { ModelFolders } from "./folders.ts";
import { ModelMemory } from "./memory.ts";

export interface ModelStore {
  folders: ModelFolders;
  memory: ModelMemory;
}

export function createModelStore(config: EmulatorConfig, dirs: WorkDirs, lifecycle: Lifecycle, log: (line: string) => void): ModelStore {
  const modelsDir = resolve(config.modelsDir ?? resolve(dirs.base, "models"));
  const folders = ModelFolders.defaults(dirs.base, modelsDir);
  for (const file of config.extraModelPathsConfig) loadExtraModelPaths(folders, file, log);
  // main.py: where CheckpointSave, CLIPSave, VAESave, ModelSave and LoRA training write.
  for (const name of ["checkpoints", "clip", "vae", "diffusion_models", "loras"]) folders.add(name, py.join(dirs.output, name));
  const memory = new ModelMemory({
    vramBytes: config.vramMb * 1024 * 1024,
    msPerGb: config.modelLoadMsPerGb,
    oomPattern: config.oomModelPattern === undefined ? undefined : new RegExp(config.oomModelPattern),
    sleep: (ms) => lifecycle.sleep(ms),
    log,
    outOfMemory: (bytes) => cudaOutOfMemory(config, bytes),
  });
  return { folders, memory };
}
