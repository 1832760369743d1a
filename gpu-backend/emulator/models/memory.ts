/**
 * The emulated GPU's memory: which model files are resident in VRAM, what loading one costs, and
 * when one is evicted. It is what makes a model switch slow and a repeat fast, as on a GPU host.
 *
 * - A model file (checkpoint, LoRA, VAE, ControlNet, upscale model) is one unit of its declared
 *   size. `ensure(units)` makes every unit resident: a missing one costs `msPerGb` per 10⁹ bytes
 *   (counted in `loads` and `loadLog`); resident ones cost nothing. Units are kept in least
 *   recently used order; to make room, the least recently used units the caller does not need
 *   are evicted until the needed ones fit the budget. Needed units that exceed the budget on
 *   their own are loaded anyway (ComfyUI then loads partially, "lowvram"), evicting everything else.
 * - The budget is the device's VRAM minus what the CUDA context already holds (`CONTEXT_BYTES`,
 *   the in-use share /system_stats reports at idle).
 * - A unit whose key (`<folder>/<name>`) matches `oomPattern` raises torch's CUDA out-of-memory
 *   error instead of loading (a scripted failure).
 * - `unloadAll` is `comfy.model_management.unload_all_models()` (after an OOM, `/free`).
 */

/** VRAM the CUDA context holds before any model is loaded. */
export const CONTEXT_BYTES = 512 * 1024 * 1024;

export interface ModelUnit {
  /** `<folder>/<name>`, e.g. `checkpoints/sd15.safetensors`. */
  key: string;
  sizeBytes: number;
  /** The class ComfyUI names when it loads it (`Requested to load SDXL`). */
  label: string;
}

export interface MemoryStats {
  budgetBytes: number;
  usedBytes: number;
  /** Least recently used first. */
  resident: Array<{ key: string; sizeBytes: number }>;
  loads: number;
  evictions: number;
  /** Keys in the order they were loaded (a key appears again each time it is reloaded). */
  loadLog: string[];
}

export interface MemoryOptions {
  vramBytes: number;
  msPerGb: number;
  oomPattern: RegExp | undefined;
  sleep(ms: number): Promise<void>;
  log(line: string): void;
  /** The exception a scripted OOM raises (torch's wording, see nodes/oom.ts). */
  outOfMemory(requestBytes: number): Error;
}

export class ModelMemory {
  private readonly opts: MemoryOptions;
  /** key → size, in least recently used order (a Map keeps insertion order). */
  private readonly resident = new Map<string, number>();
  private loads = 0;
  private evictions = 0;
  private readonly loadLog: string[] = [];

  constructor(opts: MemoryOptions) {
    this.opts = opts;
  }

  get budgetBytes(): number {
    return Math.max(0, this.opts.vramBytes - CONTEXT_BYTES);
  }

  usedBytes(): number {
    let used = 0;
    for (const size of this.resident.values()) used += size;
    return used;
  }

  async ensure(units: readonly ModelUnit[]): Promise<void> {
    const needed = new Map(units.map((u) => [u.key, u]));
    const missing = [...needed.values()].filter((u) => !this.resident.has(u.key));
    for (const unit of missing) {
      if (this.opts.oomPattern?.test(unit.key)) throw this.opts.outOfMemory(unit.sizeBytes);
    }
    const incoming = missing.reduce((sum, u) => sum + u.sizeBytes, 0);
    for (const [key] of [...this.resident]) {
      if (this.usedBytes() + incoming <= this.budgetBytes) break;
      if (needed.has(key)) continue;
      this.resident.delete(key);
      this.evictions += 1;
    }
    for (const unit of missing) {
      this.opts.log(`Requested to load ${unit.label}`);
      await this.opts.sleep((unit.sizeBytes / 1e9) * this.opts.msPerGb);
      this.resident.set(unit.key, unit.sizeBytes);
      this.loads += 1;
      this.loadLog.push(unit.key);
      const mb = (bytes: number) => bytes / (1024 * 1024);
      this.opts.log(`loaded completely ${mb(Math.max(0, this.budgetBytes - this.usedBytes()))} ${mb(unit.sizeBytes)} True`);
    }
    // Most recently used last.
    for (const key of needed.keys()) {
      const size = this.resident.get(key);
      if (size === undefined) continue;
      this.resident.delete(key);
      this.resident.set(key, size);
    }
  }

  unloadAll(): void {
    this.evictions += this.resident.size;
    this.resident.clear();
  }

  stats(): MemoryStats {
    return {
      budgetBytes: this.budgetBytes,
      usedBytes: this.usedBytes(),
      resident: [...this.resident].map(([key, sizeBytes]) => ({ key, sizeBytes })),
      loads: this.loads,
      evictions: this.evictions,
      loadLog: [...this.loadLog],
    };
  }
}
