/**
 * The model registry (issue 14): names in ComfyUI folders for model files whose bytes live in R2,
 * once per scope and SHA-256 (`shared` for the operators' registry, a tenant id for a tenant's
 * private files). A new file is uploaded in parts (R2 multipart: resumable, each part checked for
 * its size and hashed as it streams), completed, then verified whole against its declared SHA-256
 * by a ModelVerifier before it is `ready`; until then no host can fetch it, and a file that fails
 * verification is deleted. A file registered with `source: {url}` is instead downloaded by the
 * edge (the same ModelVerifier, import.ts): `importing → ready | failed`. Registering a name for
 * bytes the scope already holds needs neither.
 */
import { modelBlobKey } from "../blobs/keys.ts";
import type { Config } from "../config/schema.ts";
import { createDb, type Db } from "../db/client.ts";
import { deleteBlobRow, deleteModel, getBlob, insertBlob, insertModel, modelAt, moveBlob, namesOf, recordPart } from "../db/models.ts";
import type { ModelBlobRow, ModelPart, ModelRow } from "../db/schema.ts";
import type { Env } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { newId } from "../lib/ids.ts";
import { toHex } from "../protocol/encoding.ts";
import { checkModelSource } from "./source.ts";

export interface ModelFile {
  folder: string;
  name: string;
  sha256: string;
  size: number;
  /** Download the bytes from here instead of taking an upload (source.ts says which URLs). */
  source?: { url: string } | undefined;
}

export interface Registered {
  model: ModelRow;
  blob: ModelBlobRow;
  /** False when the name was already registered for these bytes (an idempotent repeat). */
  created: boolean;
}

export function partsTotal(blob: Pick<ModelBlobRow, "size" | "partSize">): number {
  return Math.max(1, Math.ceil(blob.size / (blob.partSize ?? blob.size)));
}

/** The exact size part `n` (1-based) must have. */
export function partBytes(blob: Pick<ModelBlobRow, "size" | "partSize">, n: number): number {
  const size = blob.partSize ?? blob.size;
  const total = partsTotal(blob);
  return n < total ? size : blob.size - size * (total - 1);
}

export async function registerModel(env: Env, config: Config, scope: string, file: ModelFile, now = Date.now()): Promise<Registered> {
  if (file.source) {
    const verdict = checkModelSource(file.source.url, config);
    if (!verdict.ok) {
      throw new ProblemError("validation-failed", verdict.detail, { extensions: { errors: [{ pointer: "/source/url", detail: verdict.detail }] } });
    }
    file = { ...file, source: { url: verdict.url.href } };
  }
  const db = createDb(env.DB);
  const existing = await modelAt(db, scope, file.folder, file.name);
  if (existing) return repeat(env, db, config, existing, file, now);
  const blob = await blobFor(env, db, config, scope, file, now);
  const model: ModelRow = { id: newId("mdl"), scope, folder: file.folder, name: file.name, sha256: file.sha256, createdAt: now };
  if (!(await insertModel(db, model))) {
    // Registered by a concurrent call meanwhile.
    const raced = await modelAt(db, scope, file.folder, file.name);
    if (!raced) throw new Error("model name vanished between insert and read");
    return repeat(env, db, config, raced, file, now);
  }
  return { model, blob, created: true };
}

async function repeat(env: Env, db: Db, config: Config, existing: ModelRow, file: ModelFile, now: number): Promise<Registered> {
  if (existing.sha256 !== file.sha256) {
    throw new ProblemError(
      "conflict",
      `${file.folder}/${file.name} is already registered with SHA-256 ${existing.sha256}; a name never changes its bytes (register another name, or DELETE ${existing.id} first).`,
    );
  }
  // Its bytes may have gone with a concurrent delete of another name for them: upload again.
  const blob = await blobFor(env, db, config, existing.scope, file, now);
  return { model: existing, blob, created: false };
}

/** The blob for `file`'s bytes in `scope`: the one there is, or a new upload or import. */
async function blobFor(env: Env, db: Db, config: Config, scope: string, file: ModelFile, now: number): Promise<ModelBlobRow> {
  for (let round = 0; round < 3; round++) {
    const blob = await getBlob(db, scope, file.sha256);
    if (blob && blob.state !== "failed") {
      if (blob.size !== file.size) {
        throw new ProblemError(
          "validation-failed",
          `A file with SHA-256 ${file.sha256} is registered with size ${blob.size}, not ${file.size}; check the size.`,
          {
            extensions: { errors: [{ pointer: "/size", detail: `must be ${blob.size} for this SHA-256` }] },
          },
        );
      }
      return blob;
    }
    if (blob) await deleteBlobRow(db, scope, file.sha256); // failed before: start over
    if (file.source) {
      const row: ModelBlobRow = {
        scope,
        sha256: file.sha256,
        size: file.size,
        state: "importing",
        source: { kind: "url", url: file.source.url },
        uploadId: null,
        partSize: null,
        parts: null,
        error: null,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await insertBlob(db, row))) continue; // another registration of these bytes was first
      await env.MODEL_VERIFIER.getByName(`${scope}:${file.sha256}`).settle(scope, file.sha256);
      return row;
    }
    const key = modelBlobKey(scope, file.sha256);
    const upload = await env.BLOBS.createMultipartUpload(key, {
      httpMetadata: { contentType: "application/octet-stream" },
      customMetadata: { sha256: file.sha256 },
    });
    const row: ModelBlobRow = {
      scope,
      sha256: file.sha256,
      size: file.size,
      state: "uploading",
      source: { kind: "upload" },
      uploadId: upload.uploadId,
      partSize: Math.min(config.MODEL_UPLOAD_PART_BYTES, file.size),
      parts: [],
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    if (await insertBlob(db, row)) return row;
    await upload.abort(); // another registration of these bytes started its upload first
  }
  throw new ProblemError("unavailable", "The model's upload could not be started; try again.", { headers: { "Retry-After": "1" } });
}

/**
 * Part `n` of a blob's upload: exactly `partBytes` bytes (Content-Length says so before anything
 * is read, and the stream is counted), hashed as it passes, stored with R2's uploadPart. Sending a
 * part again replaces it (a resumed upload).
 */
export async function receivePart(env: Env, blob: ModelBlobRow, n: number, body: ReadableStream<Uint8Array> | null, declared: number): Promise<ModelPart> {
  if (blob.state !== "uploading" || !blob.uploadId) {
    throw new ProblemError("conflict", `This model is ${blob.state}; parts are taken only while it is uploading.`);
  }
  const total = partsTotal(blob);
  if (!Number.isInteger(n) || n < 1 || n > total) {
    throw new ProblemError("invalid-query", `Part ${n} does not exist: this upload has parts 1 to ${total}.`, {
      extensions: { errors: [{ pointer: "/n", detail: `must be 1-${total}` }] },
    });
  }
  const expected = partBytes(blob, n);
  if (declared !== expected) {
    throw new ProblemError("validation-failed", `Part ${n} must be exactly ${expected} bytes (Content-Length says ${declared}).`, {
      extensions: { errors: [{ pointer: "/content-length", detail: `must be ${expected}` }] },
    });
  }
  if (!body) throw new ProblemError("validation-failed", "The part has no body.");
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  let seen = 0;
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > expected) throw new ProblemError("validation-failed", `Part ${n} is longer than ${expected} bytes.`);
        await writer.write(chunk);
        controller.enqueue(chunk);
      },
      async flush() {
        if (seen !== expected) throw new ProblemError("validation-failed", `Part ${n} ended after ${seen} of ${expected} bytes; send it again.`);
        await writer.close();
      },
    }),
  );
  const sized = counted.pipeThrough(new FixedLengthStream(expected));
  const upload = env.BLOBS.resumeMultipartUpload(modelBlobKey(blob.scope, blob.sha256), blob.uploadId);
  let etag: string;
  try {
    etag = (await upload.uploadPart(n, sized)).etag;
  } catch (err) {
    if (err instanceof ProblemError) throw err;
    throw new ProblemError("validation-failed", `Part ${n} was not stored: ${err instanceof Error ? err.message : String(err)}. Send it again.`);
  }
  const part: ModelPart = { n, etag, size: expected, sha256: toHex(new Uint8Array(await digest.digest)) };
  if (!(await recordPart(createDb(env.DB), blob.scope, blob.sha256, blob.uploadId, part, Date.now()))) {
    throw new ProblemError("conflict", "The upload was completed or deleted while this part arrived.");
  }
  return part;
}

/** Completes the upload once every part is in, and has the whole file verified (verifying → ready | failed). */
export async function completeUpload(env: Env, blob: ModelBlobRow): Promise<ModelBlobRow> {
  if (blob.state !== "uploading" || !blob.uploadId) {
    if (blob.state === "verifying" || blob.state === "ready") return blob; // a repeated complete
    const why = blob.state === "importing" ? "the edge is downloading it from its source URL" : "only an upload can be completed";
    throw new ProblemError("conflict", `This model is ${blob.state}; ${why}.`);
  }
  const have = new Set((blob.parts ?? []).map((p) => p.n));
  const missing = Array.from({ length: partsTotal(blob) }, (_, i) => i + 1).filter((n) => !have.has(n));
  if (missing.length > 0) {
    throw new ProblemError("conflict", `Parts ${summarize(missing)} have not arrived; send them, then complete.`, { extensions: { missing_parts: missing } });
  }
  const upload = env.BLOBS.resumeMultipartUpload(modelBlobKey(blob.scope, blob.sha256), blob.uploadId);
  await upload.complete((blob.parts ?? []).map((p) => ({ partNumber: p.n, etag: p.etag })));
  const moved = await moveBlob(createDb(env.DB), blob.scope, blob.sha256, ["uploading"], { state: "verifying", uploadId: null, updatedAt: Date.now() });
  if (!moved) throw new ProblemError("conflict", "The upload was completed or deleted meanwhile.");
  await env.MODEL_VERIFIER.getByName(`${blob.scope}:${blob.sha256}`).settle(blob.scope, blob.sha256);
  return moved;
}

function summarize(ns: number[]): string {
  return ns.length <= 10 ? ns.join(", ") : `${ns.slice(0, 10).join(", ")} and ${ns.length - 10} more`;
}

/**
 * Forgets a name; when no name points at its bytes any more, they go too (an open upload is
 * aborted). False when there was no such model.
 */
export async function removeModel(env: Env, scope: string, id: string): Promise<boolean> {
  const db = createDb(env.DB);
  const model = await deleteModel(db, scope, id);
  if (!model) return false;
  if ((await namesOf(db, scope, model.sha256)) > 0) return true;
  const blob = await getBlob(db, scope, model.sha256);
  if (blob?.state === "uploading" && blob.uploadId) {
    await env.BLOBS.resumeMultipartUpload(modelBlobKey(scope, model.sha256), blob.uploadId)
      .abort()
      .catch(() => undefined);
  }
  await env.BLOBS.delete(modelBlobKey(scope, model.sha256));
  await deleteBlobRow(db, scope, model.sha256);
  return true;
}
