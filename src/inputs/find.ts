/**
 * Finds the image inputs the edge must fetch or resolve: the `image` input of every node whose
 * class is an image loader (IMAGE_LOADER_NODES) holding a URL, a `data:` URI or `upload:<id>`.
 * Anything else (a file name already on the host, a link) is left to ComfyUI.
 */

export type InputSource = { kind: "url"; url: string } | { kind: "data"; uri: string } | { kind: "upload"; id: string };

export interface FoundInput {
  nodeId: string;
  inputName: string;
  source: InputSource;
}

export const MAX_INPUTS_PER_JOB = 16;

export function classify(value: string): InputSource | null {
  if (/^https?:\/\//i.test(value)) return { kind: "url", url: value };
  if (/^data:/i.test(value)) return { kind: "data", uri: value };
  const m = /^upload:(upl_[a-z2-7]{20})$/.exec(value);
  if (m) return { kind: "upload", id: m[1]! };
  if (/^upload:/.test(value)) return { kind: "upload", id: value.slice(7) };
  return null;
}

export function findImageInputs(workflow: Record<string, unknown>, loaderClasses: ReadonlySet<string>): FoundInput[] {
  const found: FoundInput[] = [];
  for (const [nodeId, node] of Object.entries(workflow)) {
    const n = node as { class_type?: unknown; inputs?: Record<string, unknown> };
    if (typeof n.class_type !== "string" || !loaderClasses.has(n.class_type) || !n.inputs) continue;
    const value = n.inputs.image;
    if (typeof value !== "string") continue;
    const source = classify(value);
    if (source) found.push({ nodeId, inputName: "image", source });
  }
  return found;
}
