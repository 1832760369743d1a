/**
 * The values that flow along the model graph's links (MODEL, CLIP, VAE, CONDITIONING, LATENT,
 * UPSCALE_MODEL, CONTROL_NET). ComfyUI passes torch modules and tensors; the emulator passes
 * what decides the outcome: which files, which LoRAs at which strengths, which text, which
 * sampler settings. That provenance is what the pixels are derived from (media/pattern.ts) and
 * what the VRAM bookkeeping charges for (`units()`).
 *
 * `pyStr()` is what `execution_error.current_inputs` shows: the object reprs ComfyUI prints
 * (`<comfy.model_patcher.ModelPatcher object at 0x7f…>`), with an address derived from the
 * object's provenance so that it is the same on every run.
 */
import { createHash } from "node:crypto";
import { architectureOf } from "../models/architectures.ts";
import { type ModelFile, modelKey } from "../models/files.ts";
import type { ModelUnit } from "../models/memory.ts";
import { PyException, pyTypeName } from "../py/values.ts";
import type { ImageBatch } from "./types.ts";

/** sha256 of a JSON value: the provenance digest pixels are derived from. */
export function digestOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/** A CPython-looking heap address (0x7f…, 16-byte aligned), fixed by the object's identity. */
function pyAddress(kind: string, identity: unknown): string {
  return `0x7f${digestOf([kind, identity]).slice(0, 9)}0`;
}

function objectRepr(qualifiedClass: string, identity: unknown): string {
  return `<${qualifiedClass} object at ${pyAddress(qualifiedClass, identity)}>`;
}

export function unitOf(file: ModelFile, label: string): ModelUnit {
  return { key: modelKey(file), sizeBytes: file.sizeBytes, label };
}

export interface LoraPatch {
  file: ModelFile;
  strength: number;
}

const loraIdentity = (loras: readonly LoraPatch[]) => loras.map((l) => [l.file.name, l.strength]);

/** MODEL: a checkpoint's diffusion model with the LoRAs patched into it, in order. */
export class ModelHandle {
  readonly checkpoint: ModelFile;
  readonly loras: readonly LoraPatch[];

  constructor(checkpoint: ModelFile, loras: readonly LoraPatch[] = []) {
    this.checkpoint = checkpoint;
    this.loras = loras;
  }

  withLora(patch: LoraPatch): ModelHandle {
    return new ModelHandle(this.checkpoint, [...this.loras, patch]);
  }

  identity(): unknown {
    return { checkpoint: this.checkpoint.name, loras: loraIdentity(this.loras) };
  }

  units(): ModelUnit[] {
    return [unitOf(this.checkpoint, architectureOf(this.checkpoint.architecture).modelClass), ...this.loras.map((l) => unitOf(l.file, "LoRA"))];
  }

  pyStr(): string {
    return objectRepr("comfy.model_patcher.ModelPatcher", this.identity());
  }
}

/** CLIP: a checkpoint's text encoder, its LoRAs, and the layer CLIPSetLastLayer stops at. */
export class ClipHandle {
  readonly checkpoint: ModelFile;
  readonly loras: readonly LoraPatch[];
  readonly layer: number | null;

  constructor(checkpoint: ModelFile, loras: readonly LoraPatch[] = [], layer: number | null = null) {
    this.checkpoint = checkpoint;
    this.loras = loras;
    this.layer = layer;
  }

  withLora(patch: LoraPatch): ClipHandle {
    return new ClipHandle(this.checkpoint, [...this.loras, patch], this.layer);
  }

  withLayer(layer: number): ClipHandle {
    return new ClipHandle(this.checkpoint, this.loras, layer);
  }

  identity(): unknown {
    return { checkpoint: this.checkpoint.name, loras: loraIdentity(this.loras), layer: this.layer };
  }

  units(): ModelUnit[] {
    return [unitOf(this.checkpoint, architectureOf(this.checkpoint.architecture).modelClass), ...this.loras.map((l) => unitOf(l.file, "LoRA"))];
  }

  pyStr(): string {
    return objectRepr("comfy.sd.CLIP", this.identity());
  }
}

/** VAE: a checkpoint's own, a file from `vae`, a TAESD pair from `vae_approx`, or `pixel_space`. */
export class VaeHandle {
  readonly name: string;
  readonly files: readonly ModelFile[];

  constructor(name: string, files: readonly ModelFile[]) {
    this.name = name;
    this.files = files;
  }

  units(): ModelUnit[] {
    return this.files.map((f) => unitOf(f, f.folder === "checkpoints" ? architectureOf(f.architecture).modelClass : "AutoencoderKL"));
  }

  pyStr(): string {
    return objectRepr("comfy.sd.VAE", this.name);
  }
}

/** CONTROL_NET */
export class ControlNet {
  readonly file: ModelFile;

  constructor(file: ModelFile) {
    this.file = file;
  }

  units(): ModelUnit[] {
    return [unitOf(this.file, "ControlNet")];
  }

  pyStr(): string {
    return objectRepr("comfy.controlnet.ControlNet", this.file.name);
  }
}

/** One ControlNetApplyAdvanced applied to a conditioning. */
export interface ControlApplied {
  controlNet: ControlNet;
  strength: number;
  startPercent: number;
  endPercent: number;
  /** Digest of the hint image's pixels. */
  hint: string;
}

/** CONDITIONING: `[[cond, {"pooled_output": …, "control": …}]]` in ComfyUI. */
export class Conditioning {
  readonly text: string;
  readonly clip: ClipHandle;
  readonly controls: readonly ControlApplied[];

  constructor(text: string, clip: ClipHandle, controls: readonly ControlApplied[] = []) {
    this.text = text;
    this.clip = clip;
    this.controls = controls;
  }

  withControl(control: ControlApplied): Conditioning {
    return new Conditioning(this.text, this.clip, [...this.controls, control]);
  }

  identity(): unknown {
    const controls = this.controls.map((c) => [c.controlNet.file.name, c.strength, c.startPercent, c.endPercent, c.hint]);
    return { text: this.text, clip: this.clip.identity(), controls };
  }

  units(): ModelUnit[] {
    return this.controls.flatMap((c) => c.controlNet.units());
  }

  pyStr(): string {
    const arch = architectureOf(this.clip.checkpoint.architecture);
    const [tokens, width] = arch.cond;
    const last = this.controls.at(-1);
    const control = last ? `, 'control': ${last.controlNet.pyStr()}, 'control_apply_to_uncond': False` : "";
    return (
      `[[tensor([[[...]]]) shape=torch.Size([1, ${tokens}, ${width}]), ` +
      `{'pooled_output': tensor([[...]]) shape=torch.Size([1, ${arch.pooled}])${control}}]]`
    );
  }
}

/** What a latent holds: nothing yet, an encoded image, or a sampler's result over what it started from. */
export type LatentContent =
  | { kind: "empty" }
  | { kind: "pixels"; image: ImageBatch }
  | { kind: "sampled"; digest: string; under: LatentContent; strength: number };

/** LATENT: `{"samples": tensor[B, C, H/8, W/8]}`; sizes here are in latent units (pixels / 8). */
export class Latent {
  readonly width: number;
  readonly height: number;
  readonly batch: number;
  readonly channels: number;
  readonly content: LatentContent;

  constructor(width: number, height: number, batch: number, channels: number, content: LatentContent) {
    this.width = width;
    this.height = height;
    this.batch = batch;
    this.channels = channels;
    this.content = content;
  }

  with(changes: Partial<Pick<Latent, "width" | "height" | "channels" | "content">>): Latent {
    return new Latent(
      changes.width ?? this.width,
      changes.height ?? this.height,
      this.batch,
      changes.channels ?? this.channels,
      changes.content ?? this.content,
    );
  }

  pyStr(): string {
    return `{'samples': tensor([[[[...]]]]) shape=torch.Size([${this.batch}, ${this.channels}, ${this.height}, ${this.width}])}`;
  }
}

/** UPSCALE_MODEL: a spandrel model descriptor; `scale` is its upscale factor. */
export class UpscaleModel {
  readonly file: ModelFile;
  readonly scale: number;

  constructor(file: ModelFile, scale: number) {
    this.file = file;
    this.scale = scale;
  }

  units(): ModelUnit[] {
    return [unitOf(this.file, "ImageModelDescriptor")];
  }

  pyStr(): string {
    return objectRepr("spandrel.__helpers.model_descriptor.ImageModelDescriptor", this.file.name);
  }
}

/** The AttributeError Python raises when a value of the wrong kind reaches a node (e.g. None). */
export function expectValue<T>(value: unknown, kind: abstract new (...args: never[]) => T, attribute: string): T {
  if (value instanceof kind) return value;
  throw new PyException("AttributeError", `'${pyTypeName(value)}' object has no attribute '${attribute}'`);
}

/** A short identity of what a latent holds, for the digests of samplers that start from it. */
export function contentIdentity(content: LatentContent): string {
  switch (content.kind) {
    case "empty":
      return "empty";
    case "pixels": {
      const hash = createHash("sha256").update(`${content.image.width}x${content.image.height}`);
      for (const frame of content.image.frames) hash.update(frame);
      return `pixels:${hash.digest("hex")}`;
    }
    case "sampled":
      return `sampled:${content.digest}`;
  }
}
