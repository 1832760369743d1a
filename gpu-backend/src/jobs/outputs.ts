/**
 * Finds every output file in a history entry — any node, any key, any item with a `filename`
 * (images, audio, video, gifs…) — and names it for the edge.
 *
 * Files of nodes that ComfyUI served from cache in this run are skipped: a cached node reports an
 * earlier prompt's file names, which may belong to another job. (Output nodes are never cached
 * for us, see workflow.ts; this is the second line of defence.)
 */
import type { FileRef } from "../comfy/client.ts";
import type { HistoryEntry } from "../comfy/schemas.ts";

export interface OutputFile {
  nodeId: string;
  kind: string;
  ref: FileRef;
}

export function cachedNodes(entry: HistoryEntry): Set<string> {
  const nodes = new Set<string>();
  for (const [event, data] of entry.status?.messages ?? []) {
    if (event === "execution_cached" && Array.isArray(data.nodes)) for (const n of data.nodes) nodes.add(String(n));
  }
  return nodes;
}

export function listOutputFiles(entry: HistoryEntry): { files: OutputFile[]; skippedCached: string[] } {
  const cached = cachedNodes(entry);
  const files: OutputFile[] = [];
  const skippedCached: string[] = [];
  for (const [nodeId, ui] of Object.entries(entry.outputs)) {
    for (const [kind, items] of Object.entries(ui)) {
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        if (typeof item !== "object" || item === null || typeof (item as { filename?: unknown }).filename !== "string") continue;
        const f = item as { filename: string; subfolder?: unknown; type?: unknown };
        if (cached.has(nodeId)) {
          skippedCached.push(`${nodeId}:${f.filename}`);
          continue;
        }
        files.push({
          nodeId,
          kind,
          ref: { filename: f.filename, subfolder: typeof f.subfolder === "string" ? f.subfolder : "", type: typeof f.type === "string" ? f.type : "output" },
        });
      }
    }
  }
  return { files, skippedCached };
}

/** A name valid for `OutputDescriptor.name`, unique within the job (`-2`, `-3`… on collisions). */
export function outputName(filename: string, used: Set<string>): string {
  let base = filename
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 180);
  if (base === "") base = "output";
  const dot = base.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ""];
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${stem}-${i}${ext}`;
  used.add(name);
  return name;
}

/**
 * What ComfyUI's `/view` answers for an extension (Python's `mimetypes`), so a file read from disk
 * (read-output.ts) gets the type it would have had through `/view`. Types a browser would run
 * (HTML, scripts, styles) are left out, as `/view` forces them to a download.
 */
const BY_EXTENSION: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  svg: "image/svg+xml",
  wav: "audio/x-wav",
  flac: "audio/flac",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  opus: "audio/opus",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  json: "application/json",
  txt: "text/plain",
};

/** ComfyUI's Content-Type when it gave a useful one, else by extension. */
export function contentTypeOf(filename: string, fromComfy: string | undefined): string {
  if (fromComfy && fromComfy !== "application/octet-stream") return fromComfy.slice(0, 128);
  return BY_EXTENSION[(filename.split(".").pop() ?? "").toLowerCase()] ?? "application/octet-stream";
}
