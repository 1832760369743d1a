/**
 * `GET /view` and `POST /upload/image` (server.py).
 *
 * `/view`: 404 without `filename` or when the file is absent; 400 for an empty name, a name
 * starting with `/` or containing `..`, or an unknown `type`; 403 when `subfolder` escapes the
 * folder; `channel=rgb`/`channel=a` re-encode PNGs; otherwise the raw bytes with a
 * `Content-Type` guessed from the extension (HTML/JS/CSS forced to octet-stream).
 * `/upload/image`: multipart `image`, `overwrite`, `subfolder`, `type`; without `overwrite` an
 * existing name gets ` (1)`, ` (2)`… unless the bytes are identical, in which case nothing is
 * written and the existing name is returned.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { annotatedFilepath, dirByType } from "../dirs.ts";
import { HttpError, internalServerError, sendBytes, sendEmpty, sendJson } from "../http.ts";
import { decodePng, encodePng } from "../media/png.ts";
import * as py from "../py/path.ts";
import type { RouteContext, Router } from "../router.ts";

/** Python's `mimetypes.guess_type` for the extensions ComfyUI outputs and clients upload. */
const MIME_TYPES: Record<string, string> = {
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
  mp3: "audio/mpeg",
  flac: "audio/flac",
  ogg: "audio/ogg",
  opus: "audio/opus",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  json: "application/json",
  txt: "text/plain",
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  js: "application/javascript; charset=utf-8",
};
const FORCED_DOWNLOAD = new Set(["text/html", "text/html-sandboxed", "application/xhtml+xml", "text/javascript", "text/css"]);

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function viewFile(ctx: RouteContext): void {
  const { res, rt } = ctx;
  const query = ctx.url.searchParams;
  const requested = query.get("filename");
  if (requested === null) return sendEmpty(res, 404);
  const annotated = annotatedFilepath(rt.dirs, requested);
  const name = annotated.name;
  if (name === "" || name.startsWith("/") || name.includes("..")) return sendEmpty(res, 400);
  let dir = annotated.baseDir ?? dirByType(rt.dirs, query.get("type") ?? "output");
  if (dir === undefined) return sendEmpty(res, 400);
  const subfolder = query.get("subfolder");
  if (subfolder !== null) {
    const full = py.join(dir, subfolder);
    if (py.commonpath(py.abspath(full), dir) !== dir) return sendEmpty(res, 403);
    dir = full;
  }
  const filename = py.basename(name);
  const file = py.join(dir, filename);
  if (!isFile(file)) return sendEmpty(res, 404);
  const disposition = { "Content-Disposition": `filename="${filename}"` };
  const channel = query.get("channel") ?? "rgba";
  const bytes = readFileSync(file);
  // `preview=` re-encoding to webp/jpeg needs codecs the emulator lacks: the raw file is served.
  if ((channel === "rgb" || channel === "a") && bytes.subarray(1, 4).toString("latin1") === "PNG") {
    const img = decodePng(bytes);
    const pixels = img.width * img.height;
    if (channel === "rgb") {
      const rgb = new Uint8Array(pixels * 3);
      for (let i = 0; i < pixels; i++) rgb.set(img.data.subarray(i * 4, i * 4 + 3), i * 3);
      return sendBytes(res, encodePng({ width: img.width, height: img.height, channels: 3, data: rgb }), { ...disposition, "Content-Type": "image/png" });
    }
    // Black RGB carrying only the alpha (255 where the source has none), as ComfyUI builds it.
    const rgba = new Uint8Array(pixels * 4);
    for (let i = 0; i < pixels; i++) rgba[i * 4 + 3] = img.hasAlpha ? (img.data[i * 4 + 3] ?? 255) : 255;
    return sendBytes(res, encodePng({ width: img.width, height: img.height, channels: 4, data: rgba }), { ...disposition, "Content-Type": "image/png" });
  }
  let contentType = MIME_TYPES[(filename.split(".").pop() ?? "").toLowerCase()] ?? "application/octet-stream";
  if (FORCED_DOWNLOAD.has(contentType)) contentType = "application/octet-stream";
  sendBytes(res, bytes, { ...disposition, "Content-Type": contentType });
}

async function uploadImage(ctx: RouteContext): Promise<void> {
  const { res, rt } = ctx;
  const body = await ctx.body();
  const contentType = ctx.req.headers["content-type"] ?? "";
  let form: FormData | undefined;
  if (/^multipart\/form-data/i.test(contentType) || /^application\/x-www-form-urlencoded/i.test(contentType)) {
    try {
      form = await new Response(body, { headers: { "content-type": contentType } }).formData();
    } catch {
      throw new HttpError(400, "400: Bad Request");
    }
  }
  const image = form?.get("image") ?? null;
  const overwrite = form?.get("overwrite") ?? null;
  const typeField = form?.get("type");
  const uploadType = typeof typeField === "string" ? typeField : "input";
  const uploadDir = dirByType(rt.dirs, uploadType);
  // An unknown `type` leaves a local unbound in ComfyUI: an unhandled exception.
  if (uploadDir === undefined) throw internalServerError();
  if (image === null) return sendEmpty(res, 400);
  if (typeof image === "string") throw internalServerError(); // a plain field has no `.file`
  let filename = image.name;
  if (!filename) return sendEmpty(res, 400);
  const subfolderField = form?.get("subfolder");
  const subfolder = typeof subfolderField === "string" ? subfolderField : "";
  const folder = py.join(uploadDir, py.normpath(subfolder));
  let filepath = py.abspath(py.join(folder, filename));
  if (py.commonpath(uploadDir, filepath) !== uploadDir) return sendEmpty(res, 400);
  mkdirSync(folder, { recursive: true });
  const data = Buffer.from(await image.arrayBuffer());
  let duplicate = false;
  if (overwrite !== "true" && overwrite !== "1") {
    const [root, ext] = py.splitext(filename);
    const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
    for (let i = 1; existsSync(filepath); i++) {
      if (isFile(filepath) && digest(readFileSync(filepath)) === digest(data)) {
        duplicate = true;
        break;
      }
      filename = `${root} (${i})${ext}`;
      filepath = py.join(folder, filename);
    }
  }
  if (!duplicate) writeFileSync(filepath, data);
  sendJson(res, 200, { name: filename, subfolder, type: uploadType });
}

export function addFileRoutes(router: Router): void {
  router.add("GET", "/view", viewFile).add("POST", "/upload/image", uploadImage);
}
