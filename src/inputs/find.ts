/**
 * The file inputs of a submitted workflow (FILE_INPUT_NODES, see src/protocol/node-policy.ts) and
 * where each file comes from. A file input must be an `https://`/`http://` URL (fetched through
 * the SSRF guard), a `data:` URI or `upload:<id>`; anything else — a file name, a path, `..`, a
 * ` [temp]` suffix, another scheme, a link from another node — is refused with a JSON pointer to
 * the input, because ComfyUI would open whatever file that names on the GPU host.
 */

import type { WorkflowIssue } from "../jobs/workflow.ts";
import { pointerToken } from "../jobs/workflow.ts";
import { type FileInputs, findFileInputs } from "../protocol/node-policy.ts";

export type InputSource = { kind: "url"; url: string } | { kind: "data"; uri: string } | { kind: "upload"; id: string };

/** What kind of file an input takes, which decides how the edge checks its bytes. */
export type MediaKind = "image" | "audio" | "video" | "file";

export interface FoundInput {
  nodeId: string;
  classType: string;
  inputName: string;
  kind: MediaKind;
  source: InputSource;
}

export const MAX_INPUTS_PER_JOB = 16;

const ACCEPTED = "give the file as an https:// URL, a data: URI, or upload:<id> from POST /v1/uploads";

export function classify(value: string): InputSource | null {
  if (/^https?:\/\//i.test(value)) return { kind: "url", url: value };
  if (/^data:/i.test(value)) return { kind: "data", uri: value };
  const m = /^upload:(upl_[a-z2-7]{20})$/.exec(value);
  if (m) return { kind: "upload", id: m[1]! };
  if (/^upload:/.test(value)) return { kind: "upload", id: value.slice(7) };
  return null;
}

/** By the input's name, as ComfyUI's loaders call them (LoadImage.image, LoadAudio.audio, LoadVideo.file). */
export function mediaKindOf(classType: string, inputName: string): MediaKind {
  if (inputName === "image") return "image";
  if (inputName === "audio") return "audio";
  if (classType === "LoadVideo" || inputName === "video") return "video";
  return "file";
}

function refusal(value: unknown): string {
  if (Array.isArray(value)) return `a file input cannot be linked to another node's output (it could compute any path on the GPU host); ${ACCEPTED}`;
  if (typeof value !== "string") return `must be a string; ${ACCEPTED}`;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1];
  if (scheme && scheme.length > 1) return `the ${scheme.toLowerCase()}: scheme is not accepted; ${ACCEPTED}`;
  return `names a file on the GPU host, which is never accepted (no file names, paths or [input]/[output]/[temp] suffixes); ${ACCEPTED}`;
}

export type FileInputCheck = { ok: true; found: FoundInput[] } | { ok: false; errors: WorkflowIssue[] };

export function checkFileInputs(workflow: Readonly<Record<string, unknown>>, fileInputs: FileInputs): FileInputCheck {
  const found: FoundInput[] = [];
  const errors: WorkflowIssue[] = [];
  for (const input of findFileInputs(workflow, fileInputs)) {
    const pointer = `/workflow/${pointerToken(input.nodeId)}/inputs/${pointerToken(input.inputName)}`;
    const source = typeof input.value === "string" ? classify(input.value) : null;
    if (!source) {
      errors.push({ pointer, detail: refusal(input.value) });
      continue;
    }
    found.push({ nodeId: input.nodeId, classType: input.classType, inputName: input.inputName, kind: mediaKindOf(input.classType, input.inputName), source });
  }
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, 50) } : { ok: true, found };
}
