/**
 * Imports a model file registered with `source: {url}`: the edge downloads it through the SSRF
 * guard (every hop https, on MODEL_SOURCE_HOSTS, public; source.ts) and streams it straight into
 * R2 at the blob's key, counting and hashing the bytes on the way:
 *
 *   body → count (cut past `size`) + SHA-256 → FixedLengthStream(size) → BLOBS.put(key)
 *
 * R2 stores an object only when its stream ends cleanly at exactly `size` bytes, so a cut
 * download leaves nothing; a full one with the wrong SHA-256 is deleted before the blob is
 * `failed`. Invariant: the object under the key is there for a `ready` blob, and for nothing else
 * once this returns. A download is cut when the source stalls (no byte for STALL_MS).
 */
import { modelBlobKey } from "../blobs/keys.ts";
import type { Config } from "../config/schema.ts";
import { createDb } from "../db/client.ts";
import { getBlob, moveBlob } from "../db/models.ts";
import type { ModelBlobRow } from "../db/schema.ts";
import type { Env } from "../env.ts";
import { toHex } from "../protocol/encoding.ts";
import { outboundOptions } from "../ssrf/from-config.ts";
import { guardedFetchStream } from "../ssrf/guarded-fetch.ts";
import { MODEL_SOURCE_SCHEMES, modelSourceHostRule } from "./source.ts";
import type { Verdict } from "./verify.ts";

/** Deadline for the source's answer (DNS, connects, redirects, headers). */
const HEADERS_TIMEOUT_MS = 30_000;
/** The download is cut when no byte arrives for this long. */
const STALL_MS = 60_000;
/** Hugging Face: resolve → CDN is one or two hops. */
const MAX_REDIRECTS = 5;

export async function importBlob(env: Env, config: Config, blob: ModelBlobRow): Promise<Verdict> {
  if (blob.state !== "importing" || blob.source.kind !== "url") return "gone";
  const { scope, sha256 } = blob;
  const key = modelBlobKey(scope, sha256);
  const problem = await download(env, config, blob, blob.source.url, key);
  const db = createDb(env.DB);
  const now = Date.now();
  if (problem === null) {
    if (await moveBlob(db, scope, sha256, ["importing"], { state: "ready", error: null, updatedAt: now })) return "ready";
    // Deleted while it downloaded: no bytes without a row for them.
    if (!(await getBlob(db, scope, sha256))) await env.BLOBS.delete(key);
    return "gone";
  }
  await env.BLOBS.delete(key);
  const error = `Import failed: ${problem} Nothing was stored; register the file again once the source is right.`;
  return (await moveBlob(db, scope, sha256, ["importing"], { state: "failed", error, updatedAt: now })) ? "failed" : "gone";
}

/** Downloads the source into `key`; null when the stored object has the declared size and SHA-256, else what was wrong. */
async function download(env: Env, config: Config, blob: ModelBlobRow, url: string, key: string): Promise<string | null> {
  const { size, sha256 } = blob;
  const stall = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new DOMException("the download stalled", "TimeoutError")), STALL_MS);
  };
  const got = await guardedFetchStream(url, {
    ...outboundOptions(config),
    schemes: MODEL_SOURCE_SCHEMES,
    hostRule: modelSourceHostRule(config),
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    maxBytes: size,
    maxRedirects: MAX_REDIRECTS,
    accept: "application/octet-stream, */*;q=0.5",
    signal: stall.signal,
  });
  if (!got.ok) {
    return got.reason === "too-large" ? `The source's Content-Length is larger than the declared ${size} bytes; check the size.` : got.detail;
  }
  const encoded = (got.headers.get("content-encoding") ?? "identity").toLowerCase() !== "identity";
  if (got.contentLength !== null && got.contentLength !== size && !encoded) {
    await got.body.cancel().catch(() => {});
    return `The source's Content-Length is ${got.contentLength} bytes, not the declared ${size}; check the size.`;
  }

  let failure = null as string | null; // set by the transform, read after put fails (no narrowing)
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  digest.digest.catch(() => {}); // rejects when a failed download aborts the writer; awaited only on success
  let seen = 0;
  const counted = got.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        arm();
        seen += chunk.byteLength;
        if (seen > size) {
          failure = `The source sent more than the declared ${size} bytes; check the size.`;
          throw new Error(failure);
        }
        await writer.write(chunk);
        controller.enqueue(chunk);
      },
      async flush() {
        if (seen !== size) {
          failure = `The download ended after ${seen} of the declared ${size} bytes; check the size, or try again.`;
          throw new Error(failure);
        }
        await writer.close();
      },
    }),
  );
  arm();
  try {
    await env.BLOBS.put(key, counted.pipeThrough(new FixedLengthStream(size)), {
      httpMetadata: { contentType: "application/octet-stream" },
      customMetadata: { sha256 },
    });
  } catch {
    await writer.abort().catch(() => {});
    if (failure !== null) return failure;
    if (stall.signal.aborted) return `The download stalled: no bytes for ${STALL_MS / 1000} seconds; try again.`;
    return "The connection to the source broke during the download; try again.";
  } finally {
    clearTimeout(timer);
  }
  const hash = toHex(new Uint8Array(await digest.digest));
  return hash === sha256 ? null : `The downloaded file's SHA-256 is ${hash}, not the declared ${sha256}; check the URL and the hash.`;
}
