/**
 * Fake model files in the safetensors layout: an 8-byte little-endian header length, then a JSON
 * header whose `__metadata__` (string → string, as the format requires) names the architecture
 * the file stands for and the size it declares. A few hundred bytes on disk can so stand for a
 * 6 GB checkpoint: the emulator charges load time and VRAM for the declared size.
 *
 * `writeFakeModel` is what tests and the dev set-up use to create model folders; `readModelHeader`
 * is how the emulator learns a file's declared size and architecture. Only the header is read,
 * never the whole file, so pointing the emulator at real model folders stays cheap.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** `__metadata__` key of the architecture (the Stability AI model spec's name for it). */
export const ARCHITECTURE_KEY = "modelspec.architecture";
/** `__metadata__` key of the size the file stands for, in bytes (a decimal string). */
export const SIZE_KEY = "emulator.size_bytes";

export interface FakeModel {
  /** e.g. `stable-diffusion-v1`, `stable-diffusion-xl-v1-base`, `flux-1-dev`. */
  architecture?: string;
  /** The size the file declares (what loading it costs); the real file stays tiny. */
  sizeBytes?: number;
  /** More `__metadata__` entries (e.g. `emulator.scale` of an upscale model). */
  metadata?: Record<string, string>;
}

/** The bytes of a fake model file. */
export function fakeModelBytes(model: FakeModel = {}): Buffer {
  const metadata: Record<string, string> = { ...model.metadata };
  if (model.architecture !== undefined) metadata[ARCHITECTURE_KEY] = model.architecture;
  if (model.sizeBytes !== undefined) metadata[SIZE_KEY] = String(Math.round(model.sizeBytes));
  let header = JSON.stringify({ __metadata__: metadata });
  // safetensors pads the header with spaces so the data that follows is 8-byte aligned.
  header += " ".repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([length, Buffer.from(header, "utf8")]);
}

/** Writes a fake model file (creating its folder), e.g. `writeFakeModel(".../models/checkpoints/sd15.safetensors", {architecture: "stable-diffusion-v1", sizeBytes: 2_132_625_894})`. */
export function writeFakeModel(path: string, model: FakeModel = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, fakeModelBytes(model));
}

/** Why the safetensors crate refuses a header (its error variant's name, as Python shows it). */
export class SafetensorsHeaderError extends Error {
  readonly variant: string;
  constructor(variant: string) {
    super(`Error while deserializing header: ${variant}`);
    this.variant = variant;
  }
}

/** The crate's limit on a header's length. */
const MAX_HEADER_BYTES = 100_000_000;

export interface ModelHeader {
  metadata: Record<string, string>;
  /** Declared size, or the file's real size when it declares none. */
  sizeBytes: number;
  architecture: string | undefined;
}

/** Reads the header of a safetensors file; throws SafetensorsHeaderError where the crate would. */
export function readSafetensorsHeader(path: string): ModelHeader {
  const fd = openSync(path, "r");
  try {
    const fileSize = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (fileSize < 8 || readSync(fd, head, 0, 8, 0) < 8) throw new SafetensorsHeaderError("HeaderTooSmall");
    const length = head.readBigUInt64LE(0);
    if (length > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsHeaderError("HeaderTooLarge");
    const n = Number(length);
    if (8 + n > fileSize) throw new SafetensorsHeaderError("InvalidHeaderLength");
    const text = Buffer.alloc(n);
    readSync(fd, text, 0, n, 8);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(text));
    } catch {
      throw new SafetensorsHeaderError("InvalidHeaderDeserialization");
    }
    const raw = typeof header === "object" && header !== null ? (header as Record<string, unknown>).__metadata__ : undefined;
    const metadata: Record<string, string> = {};
    if (typeof raw === "object" && raw !== null) {
      for (const [key, value] of Object.entries(raw)) if (typeof value === "string") metadata[key] = value;
    }
    const declared = Number(metadata[SIZE_KEY]);
    return {
      metadata,
      sizeBytes: Number.isFinite(declared) && declared >= 0 ? declared : fileSize,
      architecture: metadata[ARCHITECTURE_KEY],
    };
  } finally {
    closeSync(fd);
  }
}
