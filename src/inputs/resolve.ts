/**
 * Turns a job's image inputs into stored files: URLs are fetched through the SSRF guard, `data:`
 * URIs decoded, uploads looked up (owner only); every file is checked by its bytes (format,
 * dimensions) and stored in R2. The workflow keeps a plain file name in place of the source, and
 * the host receives the file from the edge. Any refusal is a 422 that names the node and why;
 * files stored before the refusal are deleted again.
 */

import { jobInputKey } from "../blobs/keys.ts";
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import type { JobInputRow } from "../db/schema.ts";
import { uploadOf } from "../db/uploads.ts";
import type { Env } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { pointerToken } from "../jobs/workflow.ts";
import { outboundOptions } from "../ssrf/from-config.ts";
import { decodeImageDataUri, fetchImage, type ImageResult, type RefusalReason } from "../ssrf/index.ts";
import { type FoundInput, MAX_INPUTS_PER_JOB } from "./find.ts";

const CONTENT_REASONS: ReadonlySet<RefusalReason> = new Set(["too-large", "not-an-image", "svg", "too-many-pixels", "bad-data-uri"]);

export function imageRefusal(pointer: string, reason: RefusalReason, detail: string): ProblemError {
  const slug = CONTENT_REASONS.has(reason) ? "invalid-image-input" : "unsafe-source-url";
  return new ProblemError(slug, `${pointer}: ${detail}`, { extensions: { reason, errors: [{ pointer, detail }] } });
}

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif" };

export interface ResolvedInputs {
  workflow: Record<string, unknown>;
  rows: JobInputRow[];
}

export interface InputOwner {
  tenantId: string;
  userId: string;
}

/** `found`: the workflow's file inputs, already checked by `checkFileInputs`. */
export async function resolveInputs(
  env: Env,
  config: Config,
  owner: InputOwner,
  jobId: string,
  workflow: Record<string, unknown>,
  found: FoundInput[],
): Promise<ResolvedInputs> {
  if (found.length === 0) return { workflow, rows: [] };
  for (const f of found) {
    if (f.kind === "image") continue;
    const pointer = `/workflow/${pointerToken(f.nodeId)}/inputs/${pointerToken(f.inputName)}`;
    const detail = `${f.classType}.${f.inputName} takes a ${f.kind} file; only image inputs (LoadImage and the other image loaders) can be given as URL, data: URI or upload so far.`;
    throw new ProblemError("invalid-input", `${pointer}: ${detail}`, { extensions: { errors: [{ pointer, detail }] } });
  }
  if (found.length > MAX_INPUTS_PER_JOB) {
    throw new ProblemError(
      "invalid-workflow",
      `A job may have at most ${MAX_INPUTS_PER_JOB} image inputs given as URL, data: URI or upload; this one has ${found.length}.`,
    );
  }
  const stored: string[] = [];
  try {
    const rows = await Promise.all(found.map((f, i) => resolveOne(env, config, owner, jobId, f, `in${i + 1}`, stored)));
    const rewritten = structuredClone(workflow) as Record<string, { inputs: Record<string, unknown> }>;
    for (const row of rows) rewritten[row.nodeId]!.inputs[row.inputName] = row.filename;
    return { workflow: rewritten, rows };
  } catch (err) {
    await Promise.all(stored.map((key) => env.BLOBS.delete(key)));
    throw err;
  }
}

async function resolveOne(env: Env, config: Config, owner: InputOwner, jobId: string, f: FoundInput, id: string, stored: string[]): Promise<JobInputRow> {
  const pointer = `/workflow/${pointerToken(f.nodeId)}/inputs/${pointerToken(f.inputName)}`;
  const limits = { maxBytes: config.IMAGE_INPUT_MAX_BYTES, maxPixels: config.IMAGE_INPUT_MAX_PIXELS };
  const base = { jobId, id, nodeId: f.nodeId, inputName: f.inputName };

  if (f.source.kind === "upload") {
    const upload = await uploadOf(createDb(env.DB), owner, f.source.id, Date.now());
    if (!upload) {
      throw new ProblemError("invalid-image-input", `${pointer}: upload:${f.source.id} does not exist, has expired, or belongs to another user.`, {
        extensions: { reason: "upload-not-found", errors: [{ pointer, detail: "unknown upload" }] },
      });
    }
    // Uploads are already checked and stored: reference them, do not copy.
    return {
      ...base,
      r2Key: upload.r2Key,
      filename: `${id}.${EXTENSIONS[upload.contentType] ?? "bin"}`,
      contentType: upload.contentType,
      size: upload.size,
      sha256: upload.sha256,
    };
  }

  let image: ImageResult;
  if (f.source.kind === "data") {
    image = await decodeImageDataUri(f.source.uri, limits);
  } else {
    image = await fetchImage(f.source.url, {
      ...limits,
      ...outboundOptions(config),
      timeoutMs: config.IMAGE_FETCH_TIMEOUT_SECONDS * 1000,
      maxRedirects: config.IMAGE_FETCH_MAX_REDIRECTS,
    });
  }
  if (!image.ok) throw imageRefusal(pointer, image.reason, image.detail);
  const key = jobInputKey(owner.tenantId, jobId, id);
  await env.BLOBS.put(key, image.bytes, { httpMetadata: { contentType: image.contentType }, sha256: image.sha256 });
  stored.push(key);
  return {
    ...base,
    r2Key: key,
    filename: `${id}.${EXTENSIONS[image.contentType] ?? "bin"}`,
    contentType: image.contentType,
    size: image.bytes.length,
    sha256: image.sha256,
  };
}
