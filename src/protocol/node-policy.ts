/**
 * What a workflow may contain. The edge checks it at submit and gpu-backend checks it again before
 * anything reaches ComfyUI (the host does not trust the edge's filtering), with the same rules:
 *
 * - File inputs. ComfyUI's loaders (LoadImage & co.) skip the check against the list of files and
 *   open `os.path.join(input_dir, name)`: an absolute path or `..` reads any file the ComfyUI
 *   process can, and a ` [output]`/` [temp]` suffix switches folders — other jobs' files
 *   included. So a file input is never a name the client chose: at the edge it must be a URL, a
 *   `data:` URI or `upload:<id>` (the edge stores the file), on the host only the name of the file
 *   the host placed for this job. A link into a file input is refused too: another node could
 *   compute any path at run time.
 * - Node classes. Some classes read or write arbitrary paths or the network, or write
 *   model-sized files that outlive the job (`*Save` of models, API nodes, folder loaders); they are
 *   denied everywhere. The host additionally runs only classes its lock file allows.
 *
 * Pure functions over JSON: this module runs in workerd and in Node alike.
 */

/** `Class.input` pairs naming a file on the host (ComfyUI 0.3.64 core), unless configured otherwise. */
export const DEFAULT_FILE_INPUTS = [
  "LoadImage.image",
  "LoadImageMask.image",
  "LoadImageOutput.image",
  "LoadAudio.audio",
  "LoadVideo.file",
  "LoadLatent.latent",
  "Load3D.model_file",
  "Load3DAnimation.model_file",
  "WebcamCapture.image",
].join(",");

/** `object_info` input options that mark an input as a file picker: such inputs are file inputs too. */
export const UPLOAD_FLAGS = ["image_upload", "audio_upload", "video_upload", "file_upload"] as const;

/** Classes never run, unless configured otherwise (ComfyUI 0.3.64 core names). */
export const DEFAULT_DENIED_NODE_CLASSES = [
  // Write model-sized files into the models folders, where they outlive the job.
  "CheckpointSave",
  "CLIPSave",
  "VAESave",
  "ModelSave",
  "LoraSave",
  "ImageOnlyCheckpointSave",
  "SaveLoRANode",
  // Writes a latent file into the output folder (and LoadLatent could read it back).
  "SaveLatent",
  // Read whole folders of the input folder by name: every job's inputs.
  "LoadImageSetFromFolderNode",
  "LoadImageTextSetFromFolderNode",
  // Sends images over ComfyUI's WebSocket only: nothing the host could collect as an output.
  "SaveImageWebsocket",
].join(",");

/** ComfyUI's API nodes (calls to paid third-party services) live in this Python package. */
export const API_NODE_MODULE = "comfy_api_nodes";

/** Deepest nesting of arrays and objects accepted anywhere in a JSON body or workflow. */
export const MAX_JSON_DEPTH = 64;

/** Class name → names of its inputs that name a file. */
export type FileInputs = ReadonlyMap<string, ReadonlySet<string>>;

const CLASS_INPUT = /^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/;

export function isFileInputList(list: string): boolean {
  return list === "" || list.split(",").every((p) => CLASS_INPUT.test(p.trim()));
}

export function isClassList(list: string): boolean {
  return list === "" || list.split(",").every((p) => /^[A-Za-z0-9_]+$/.test(p.trim()));
}

export function parseClassList(list: string): Set<string> {
  return new Set(
    list
      .split(",")
      .map((c) => c.trim())
      .filter((c) => c !== ""),
  );
}

/** Parses `Class.input,Class.input`. Invalid entries are ignored (config validates the list). */
export function parseFileInputs(list: string): FileInputs {
  const map = new Map<string, Set<string>>();
  for (const pair of list.split(",")) {
    const p = pair.trim();
    if (!CLASS_INPUT.test(p)) continue;
    const [cls, input] = p.split(".") as [string, string];
    const set = map.get(cls) ?? new Set<string>();
    map.set(cls, set);
    set.add(input);
  }
  return map;
}

type InputSpecs = Record<string, unknown>;
export type ObjectInfoEntry = { input?: { required?: InputSpecs; optional?: InputSpecs }; python_module?: string };

/** The inputs `object_info` marks as file pickers (`image_upload: true` …). */
export function fileInputsFromObjectInfo(info: Readonly<Record<string, ObjectInfoEntry>>): FileInputs {
  const map = new Map<string, Set<string>>();
  for (const [cls, entry] of Object.entries(info)) {
    for (const section of [entry.input?.required, entry.input?.optional]) {
      for (const [name, spec] of Object.entries(section ?? {})) {
        const options = Array.isArray(spec) ? spec[1] : undefined;
        if (typeof options !== "object" || options === null) continue;
        if (!UPLOAD_FLAGS.some((flag) => (options as Record<string, unknown>)[flag] === true)) continue;
        const set = map.get(cls) ?? new Set<string>();
        map.set(cls, set);
        set.add(name);
      }
    }
  }
  return map;
}

export function mergeFileInputs(...lists: FileInputs[]): FileInputs {
  const map = new Map<string, Set<string>>();
  for (const list of lists) {
    for (const [cls, inputs] of list) {
      const set = map.get(cls) ?? new Set<string>();
      map.set(cls, set);
      for (const i of inputs) set.add(i);
    }
  }
  return map;
}

export interface FileInput {
  nodeId: string;
  classType: string;
  inputName: string;
  /** The value as submitted: a string constant, a link `[node, slot]`, or anything else. */
  value: unknown;
}

type NodeLike = { class_type?: unknown; inputs?: unknown };
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every file input present in the workflow, whatever its value. */
export function findFileInputs(workflow: Readonly<Record<string, unknown>>, fileInputs: FileInputs): FileInput[] {
  const found: FileInput[] = [];
  for (const [nodeId, node] of Object.entries(workflow)) {
    if (!isRecord(node)) continue;
    const { class_type: classType, inputs } = node as NodeLike;
    if (typeof classType !== "string" || !isRecord(inputs)) continue;
    const names = fileInputs.get(classType);
    if (!names) continue;
    for (const inputName of names) if (Object.hasOwn(inputs, inputName)) found.push({ nodeId, classType, inputName, value: inputs[inputName] });
  }
  return found;
}

export interface DeniedNode {
  nodeId: string;
  classType: string;
  why: "denied" | "api-node" | "not-allowed";
}

/**
 * Nodes whose class may not run: denied by name, an API node (by its Python module, when
 * `object_info` is known), or — when `allowed` is given — a class outside the allowed set.
 */
export function deniedNodes(
  workflow: Readonly<Record<string, unknown>>,
  rules: { denied: ReadonlySet<string>; allowed?: ReadonlySet<string>; objectInfo?: Readonly<Record<string, ObjectInfoEntry>> },
): DeniedNode[] {
  const out: DeniedNode[] = [];
  for (const [nodeId, node] of Object.entries(workflow)) {
    if (!isRecord(node) || typeof node.class_type !== "string") continue;
    const classType = node.class_type;
    const module = rules.objectInfo?.[classType]?.python_module;
    if (rules.denied.has(classType)) out.push({ nodeId, classType, why: "denied" });
    else if (typeof module === "string" && (module === API_NODE_MODULE || module.startsWith(`${API_NODE_MODULE}.`)))
      out.push({ nodeId, classType, why: "api-node" });
    else if (rules.allowed && !rules.allowed.has(classType)) out.push({ nodeId, classType, why: "not-allowed" });
  }
  return out;
}

/**
 * Whether JSON text nests arrays/objects deeper than `max`, by one scan of the text (strings
 * skipped) — before `JSON.parse`, so a body nested thousands deep never reaches a recursive
 * parser, serializer or `structuredClone`.
 */
export function jsonTextTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** Whether a parsed value nests arrays/objects deeper than `max` (iterative: no recursion to overflow). */
export function valueTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (d + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === "object" && child !== null) stack.push({ v: child, d: d + 1 });
  }
  return false;
}
