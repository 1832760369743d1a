/**
 * A model file as a job names it: its content (`sha256`, `size`) and where ComfyUI must see it
 * (`folder/name` under the models folder). The name comes from the edge and ends up as a path on
 * this host, so it is checked here, lexically, before anything touches the disk: relative
 * segments only, no `..`, no `.`, no empty segment, no backslash or NUL, and the result must stay
 * inside the models folder. Symlinked folders the operator put inside the models folder are
 * trusted (ComfyUI follows them too).
 */
import { isAbsolute, join, relative, resolve } from "node:path";

export interface ModelRef {
  /** Lowercase hex SHA-256 of the content: the blob's name in the cache. */
  sha256: string;
  size: number;
  /** ComfyUI's model folder, one segment (`checkpoints`, `loras`, …). */
  folder: string;
  /** The file name ComfyUI lists, relative to the folder; may hold `/` subfolders. */
  name: string;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export type ModelPathErrorKind = "invalid" | "occupied";

/** A ref that cannot be placed: a bad name or hash (`invalid`), or the place holds a file the cache does not manage (`occupied`). */
export class ModelPathError extends Error {
  readonly kind: ModelPathErrorKind;
  constructor(kind: ModelPathErrorKind, message: string) {
    super(message);
    this.name = "ModelPathError";
    this.kind = kind;
  }
}

function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "an empty segment";
  if (segment === "." || segment === "..") return `a "${segment}" segment`;
  if (segment.includes("\\")) return "a backslash";
  if (segment.includes("\0")) return "a NUL byte";
  return undefined;
}

/** Where `ref` appears under `modelsDir` (absolute), or a ModelPathError saying why it cannot. */
export function modelLinkPath(modelsDir: string, ref: Pick<ModelRef, "folder" | "name">): string {
  const { folder, name } = ref;
  if (typeof folder !== "string" || typeof name !== "string") throw new ModelPathError("invalid", "folder and name must be strings");
  if (folder.includes("/")) throw new ModelPathError("invalid", `folder ${JSON.stringify(folder)} must be one segment`);
  if (isAbsolute(name) || isAbsolute(folder)) throw new ModelPathError("invalid", `${JSON.stringify(`${folder}/${name}`)} is absolute`);
  for (const segment of [folder, ...name.split("/")]) {
    const problem = segmentProblem(segment);
    if (problem) throw new ModelPathError("invalid", `${JSON.stringify(`${folder}/${name}`)} has ${problem}`);
  }
  const root = resolve(modelsDir);
  const target = join(root, folder, name);
  const rel = relative(root, target);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel))
    throw new ModelPathError("invalid", `${JSON.stringify(`${folder}/${name}`)} leaves the models folder`);
  return target;
}

/** Inside (or equal to) `parent`, both absolute. */
export function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Checks the whole ref; returns the absolute link path. */
export function checkRef(modelsDir: string, ref: ModelRef): string {
  if (typeof ref.sha256 !== "string" || !SHA256_HEX.test(ref.sha256)) throw new ModelPathError("invalid", "sha256 must be 64 lowercase hex digits");
  if (!Number.isSafeInteger(ref.size) || ref.size < 0) throw new ModelPathError("invalid", "size must be a non-negative integer");
  return modelLinkPath(modelsDir, ref);
}
