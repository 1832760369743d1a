/**
 * The contract between the executor and the emulated node classes, and the value types that
 * flow along links (IMAGE, MASK, AUDIO; the model graph's are in model-types.ts).
 *
 * A node definition mirrors a ComfyUI node class: INPUT_TYPES, RETURN_TYPES, OUTPUT_NODE,
 * FUNCTION, optional VALIDATE_INPUTS and IS_CHANGED. Values that are tensors in ComfyUI are
 * small classes here; their `pyStr()` is what appears in `execution_error.current_inputs`.
 */
import type { EmulatorConfig } from "../config.ts";
import type { WorkDirs } from "../dirs.ts";
import type { ModelFolders } from "../models/folders.ts";
import type { ModelStore } from "../models/store.ts";
import { PyException, pyTypeName } from "../py/values.ts";

/** `[type, options]` as in INPUT_TYPES; `type` is a string or, for combos, the list of choices. */
export type InputSpec = readonly [type: string | readonly unknown[], options?: Record<string, unknown>];

export interface InputTypes {
  required?: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
  hidden?: Record<string, string>;
}

export interface CatalogContext {
  dirs: WorkDirs;
  /** The model folders combos list (`folder_paths.get_filename_list`). */
  folders: ModelFolders;
}

/** What a node sees while it runs. */
export interface NodeRunContext {
  nodeId: string;
  promptId: string;
  /** The prompt as queued (hidden input PROMPT). */
  prompt: Record<string, unknown>;
  extraData: Record<string, unknown>;
  dirs: WorkDirs;
  config: EmulatorConfig;
  /** Model folders and VRAM (loaders resolve files there; samplers make their models resident). */
  models: ModelStore;
  /** ComfyUI's log (stdout of the CLI). */
  log(line: string): void;
  /** Per-node instance state, kept while the node id and class stay in consecutive prompts. */
  state: Record<string, unknown>;
  /** ComfyUI's progress-bar hook: checks the interrupt flag, then emits progress events. */
  progress(value: number, total: number, preview?: PreviewFrame): void;
  /** `comfy.model_management.throw_exception_if_processing_interrupted()`. */
  throwIfInterrupted(): void;
  /** Waits; rejects only when the emulator shuts down or crashes meanwhile. */
  sleep(ms: number): Promise<void>;
  /** Kills the emulated ComfyUI process right now (see `crash` in the README). */
  crash(exitCode?: number): never;
  /** Whether the test driving this emulator opened the GateEmu gate `name` (`openGate`). */
  gateOpen(name: string): boolean;
}

/** A preview the sampler hands to the progress hook: a flat colour of the given size. */
export interface PreviewFrame {
  width: number;
  height: number;
  rgb: readonly [number, number, number];
}

/** `{"ui": {...}, "result": (...)}` of a node function. */
export interface NodeOutput {
  result?: unknown[];
  ui?: Record<string, unknown[]>;
}

export interface NodeDefinition {
  classType: string;
  /**
   * `v3`: a `comfy_api` ComfyNode (io.Schema), whose `/object_info` entry has another key order and
   * always carries output_tooltips, deprecated, experimental and api_node. Default `v1`.
   */
  schema?: "v1" | "v3";
  /** NODE_DISPLAY_NAME_MAPPINGS entry; falls back to the class name. */
  displayName?: string;
  description?: string;
  category: string;
  pythonModule: string;
  inputTypes(ctx: CatalogContext): InputTypes;
  returnTypes: readonly string[];
  returnNames?: readonly string[];
  outputTooltips?: readonly string[];
  outputNode: boolean;
  experimental?: boolean;
  /** FUNCTION name and the source file shown in emulated tracebacks. */
  functionName: string;
  sourceFile: string;
  /** VALIDATE_INPUTS: the argument names and the check (true, false or a reason string). */
  validateInputs?: {
    args: readonly string[];
    check(values: Record<string, unknown>, ctx: CatalogContext): true | false | string;
  };
  /** IS_CHANGED: its return value joins the cache signature. */
  isChanged?(values: Record<string, unknown>, ctx: CatalogContext): unknown;
  run(inputs: Record<string, unknown>, ctx: NodeRunContext): Promise<NodeOutput> | NodeOutput;
}

/** IMAGE: a batch of RGB frames (ComfyUI: float tensor [B, H, W, 3]). */
export class ImageBatch {
  readonly width: number;
  readonly height: number;
  readonly frames: readonly Uint8Array[];

  constructor(width: number, height: number, frames: readonly Uint8Array[]) {
    this.width = width;
    this.height = height;
    this.frames = frames;
  }

  /** Bytes the float32 tensor would take in ComfyUI. */
  tensorBytes(): number {
    return this.frames.length * this.width * this.height * 3 * 4;
  }

  pyStr(): string {
    const first = this.frames[0];
    const px = first ? [first[0] ?? 0, first[1] ?? 0, first[2] ?? 0].map((v) => (v / 255).toFixed(4)).join(", ") : "";
    return `tensor([[[[${px}],\n          ...]]]) shape=torch.Size([${this.frames.length}, ${this.height}, ${this.width}, 3])`;
  }
}

/** MASK: a batch of single-channel masks (ComfyUI: float tensor [B, H, W]). */
export class MaskBatch {
  readonly width: number;
  readonly height: number;
  readonly masks: readonly Uint8Array[];

  constructor(width: number, height: number, masks: readonly Uint8Array[]) {
    this.width = width;
    this.height = height;
    this.masks = masks;
  }

  pyStr(): string {
    return `tensor([[[...]]]) shape=torch.Size([${this.masks.length}, ${this.height}, ${this.width}])`;
  }
}

/** AUDIO: `{"waveform": tensor[B, C, T], "sample_rate": int}` in ComfyUI; mono here. */
export class AudioClip {
  readonly sampleRate: number;
  readonly samples: Float32Array;

  constructor(sampleRate: number, samples: Float32Array) {
    this.sampleRate = sampleRate;
    this.samples = samples;
  }

  pyStr(): string {
    return `{'waveform': tensor([[[...]]]) shape=torch.Size([1, 1, ${this.samples.length}]), 'sample_rate': ${this.sampleRate}}`;
  }
}

/** Raises the AttributeError Python would when a constant sits where a tensor is expected. */
export function expectImage(value: unknown): ImageBatch {
  if (value instanceof ImageBatch) return value;
  throw notATensor(value, "shape");
}

export function expectAudio(value: unknown): AudioClip {
  if (value instanceof AudioClip) return value;
  throw notATensor(value, "__getitem__");
}

function notATensor(value: unknown, attribute: string): PyException {
  return new PyException("AttributeError", `'${pyTypeName(value)}' object has no attribute '${attribute}'`);
}
