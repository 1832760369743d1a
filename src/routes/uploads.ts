/**
 * `POST /v1/uploads`: stores an image for later use as `upload:<id>` in an image loader's input.
 * The body is the file itself (`Content-Type: image/…`) or `multipart/form-data` with a `file`
 * field. The bytes decide what it is (never the declared type): PNG, JPEG, WebP or GIF within the
 * size and pixel limits, else a 422 that says why.
 *
 * Bounded before anything else reads it: once the caller is authenticated, the raw body is read
 * with a byte cap (413 as soon as the cap plus at most one chunk has arrived, whatever
 * Content-Length said), and only then parsed as multipart. Each stored upload counts against the
 * tenant's 24 h quota of uploads and bytes (TenantQuota; 429 with RateLimit headers beyond it).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { releaseUpload, reserveUpload } from "../admission/quota.ts";
import { uploadRateLimitHeaders } from "../admission/rate-limit-headers.ts";
import { refuseOverStorage } from "../admission/storage-quota.ts";
import { authenticate } from "../auth/authenticate.ts";
import { uploadKey } from "../blobs/keys.ts";
import { createDb } from "../db/client.ts";
import { insertUpload } from "../db/uploads.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { imageRefusal } from "../inputs/resolve.ts";
import { newId } from "../lib/ids.ts";
import { vetImage } from "../ssrf/index.ts";
import { commonProblems, rateLimitedProblem } from "./problem.schemas.ts";
import { newRouter, userSecurity } from "./router.ts";

const UploadSchema = z
  .object({
    id: z.string().openapi({ example: "upl_7k2m4q9xw3hb5zc8rd6t" }),
    ref: z.string().openapi({ description: "Put this in a LoadImage node's `image` input.", example: "upload:upl_7k2m4q9xw3hb5zc8rd6t" }),
    content_type: z.string(),
    size: z.number().int(),
    width: z.number().int(),
    height: z.number().int(),
    sha256: z.string(),
    expires_at: z.string(),
  })
  .openapi("Upload");

/** Multipart framing (boundaries, part headers) allowed on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

const tooLarge = (max: number) => new ProblemError("payload-too-large", `Uploads are limited to ${max} bytes.`, { extensions: { max_bytes: max } });

/** Reads the whole body under the cap before any parser sees it, then hands the buffered copy on. */
const capUploadBody = createMiddleware<AppEnv>(async function capUploadBody(c, next) {
  const max = c.var.config.IMAGE_INPUT_MAX_BYTES;
  const declared = c.req.header("Content-Length");
  if (declared !== undefined && (!/^\d+$/.test(declared) || Number(declared) > max + MULTIPART_OVERHEAD)) throw tooLarge(max);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readCapped(c.req.raw.body, max + MULTIPART_OVERHEAD);
  } catch (err) {
    if (err instanceof ProblemError && err.slug === "payload-too-large") throw tooLarge(max);
    throw err;
  }
  c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers: c.req.raw.headers, body: bytes });
  await next();
});

async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array<ArrayBuffer>> {
  if (!body) throw new ProblemError("validation-failed", "The upload has no body.");
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch {
      // The client's stream broke mid-body (its connection went): its problem, not a 500.
      throw new ProblemError("validation-failed", "The upload's body could not be read to its end.");
    }
    const { done, value } = next;
    if (done) break;
    total += value.length;
    if (total > max) {
      // Best effort: a stream whose connection is going may fail to cancel; the answer is the same.
      await reader.cancel().catch(() => undefined);
      throw new ProblemError("payload-too-large", `Uploads are limited to ${max} bytes.`, { extensions: { max_bytes: max } });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const uploadRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Upload an input image",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate, capUploadBody],
  request: {
    body: {
      required: true,
      content: {
        "image/*": { schema: z.string().openapi({ format: "binary" }) },
        // Checked by hand below (a File is not a zod string); the schema is for the document.
        "multipart/form-data": { schema: z.object({ file: z.any().optional().openapi({ type: "string", format: "binary" }) }) },
      },
    },
  },
  responses: { 201: { description: "Stored", content: { "application/json": { schema: UploadSchema } } }, ...commonProblems, ...rateLimitedProblem },
});

export const uploadRoutes = newRouter().openapi(uploadRoute, async (c) => {
  const { config, principal } = c.var;
  const max = config.IMAGE_INPUT_MAX_BYTES;
  const type = (c.req.header("Content-Type") ?? "").toLowerCase();
  let bytes: Uint8Array<ArrayBuffer>;
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      // Already parsed (and cached) by the route's form validator.
      form = await c.req.formData();
    } catch {
      throw new ProblemError("validation-failed", "The multipart body could not be read.");
    }
    const file = form.get("file");
    if (!file || typeof file === "string") throw new ProblemError("validation-failed", "Send the image in a multipart field named `file`.");
    if (file.size > max) throw tooLarge(max);
    bytes = new Uint8Array(await file.arrayBuffer());
  } else if (type.startsWith("image/")) {
    bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length > max) throw tooLarge(max);
  } else {
    throw new ProblemError(
      "unsupported-media-type",
      "Send the image as the body with `Content-Type: image/png` (or jpeg, webp, gif), or as multipart/form-data field `file`.",
    );
  }
  const image = await vetImage(bytes, { maxBytes: max, maxPixels: config.IMAGE_INPUT_MAX_PIXELS });
  if (!image.ok) throw imageRefusal("/", image.reason, image.detail);

  await refuseOverStorage(createDb(c.env.DB), principal.tenantId, principal.limits.storage_bytes, image.bytes.length);
  const id = newId("upl");
  const quota = await reserveUpload(c.env, principal.tenantId, { uploadId: id, bytes: image.bytes.length, limits: principal.limits }, c.var.log);
  const headers = uploadRateLimitHeaders(quota.usage);
  if (!quota.ok) {
    c.var.log.info("upload_rejected", { tenant_id: principal.tenantId, reason: quota.reason, limit: quota.limit, current: quota.current });
    const what =
      quota.reason === "uploads-per-day"
        ? `This tenant stored ${quota.current} uploads in the last 24 hours (limit ${quota.limit}).`
        : `This upload would take this tenant past ${quota.limit} bytes uploaded in 24 hours (${quota.current} used).`;
    throw new ProblemError(quota.reason, `${what} Retry after ${quota.retryAfter} s.`, {
      extensions: { limit: quota.limit, current: quota.current, "violated-policies": [quota.reason] },
      headers: { ...headers, "Retry-After": String(quota.retryAfter) },
    });
  }
  const now = Date.now();
  const key = uploadKey(principal.tenantId, id);
  try {
    await c.env.BLOBS.put(key, image.bytes, { httpMetadata: { contentType: image.contentType }, sha256: image.sha256 });
  } catch (err) {
    await releaseUpload(c.env, principal.tenantId, id, c.var.log);
    throw err;
  }
  const row = {
    id,
    tenantId: principal.tenantId,
    userId: principal.userId,
    r2Key: key,
    contentType: image.contentType,
    size: image.bytes.length,
    sha256: image.sha256,
    width: image.width,
    height: image.height,
    createdAt: now,
    expiresAt: now + config.UPLOAD_TTL_SECONDS * 1000,
  };
  try {
    await insertUpload(createDb(c.env.DB), row);
  } catch (err) {
    await Promise.all([c.env.BLOBS.delete(key), releaseUpload(c.env, principal.tenantId, id, c.var.log)]);
    throw err;
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  c.var.log.info("upload_stored", { upload_id: id, tenant_id: principal.tenantId, size: row.size });
  return c.json(
    {
      id,
      ref: `upload:${id}`,
      content_type: row.contentType,
      size: row.size,
      width: row.width,
      height: row.height,
      sha256: row.sha256,
      expires_at: new Date(row.expiresAt).toISOString(),
    },
    201,
  );
});
