/**
 * Read-only information routes: `/system_stats`, `/features`, `/object_info[/{class}]`,
 * `/models[/{folder}]`, `/embeddings`, `/extensions` and `/` (a stand-in for the frontend's
 * index.html, since real hosts have the frontend package installed).
 */
import { freemem, totalmem } from "node:os";
import { sendBytes, sendEmpty, sendJson } from "../http.ts";
import { CONTEXT_BYTES } from "../models/memory.ts";
import { nodeInfo } from "../nodes/catalog.ts";
import { splitext } from "../py/path.ts";
import type { RouteContext, Router } from "../router.ts";
import { catalogContext, type Runtime } from "../runtime.ts";

export const COMFYUI_VERSION = "0.3.64";

export function serverFeatures(rt: Runtime): Record<string, unknown> {
  return { supports_preview_metadata: true, max_upload_size: rt.config.maxUploadSizeMb * 1024 * 1024 };
}

function systemStats(ctx: RouteContext): void {
  const { config, boundPort, models } = ctx.rt;
  const vram = config.vramMb * 1024 * 1024;
  // What the resident models hold is reserved by PyTorch (torch_vram_total) and all in use.
  const modelBytes = models.memory.usedBytes();
  sendJson(ctx.res, 200, {
    system: {
      os: "posix",
      ram_total: totalmem(),
      ram_free: freemem(),
      comfyui_version: COMFYUI_VERSION,
      required_frontend_version: "1.27.10",
      installed_templates_version: "0.1.95",
      required_templates_version: "0.1.95",
      python_version: "3.12.3 (main, Aug 14 2025, 17:47:21) [GCC 13.3.0]",
      pytorch_version: "2.8.0+cu128",
      embedded_python: false,
      argv: ["main.py", "--listen", config.host, "--port", String(boundPort), "--disable-auto-launch"],
    },
    devices: [
      {
        name: `cuda:0 ${config.gpuName} : cudaMallocAsync`,
        type: "cuda",
        index: 0,
        vram_total: vram,
        vram_free: Math.max(0, vram - CONTEXT_BYTES - modelBytes),
        torch_vram_total: modelBytes,
        torch_vram_free: 0,
      },
    ],
  });
}

function objectInfo(ctx: RouteContext): void {
  const { rt } = ctx;
  const out = new Map<string, unknown>();
  // One context for the whole answer, as ComfyUI lists each folder once per request (cache_helper).
  const catalogCtx = catalogContext(rt);
  for (const [name, node] of rt.catalog) out.set(name, nodeInfo(node, catalogCtx));
  sendJson(ctx.res, 200, out);
}

function objectInfoOne(ctx: RouteContext): void {
  const { rt } = ctx;
  const name = ctx.params.node_class ?? "";
  const node = rt.catalog.get(name);
  sendJson(ctx.res, 200, node ? { [name]: nodeInfo(node, catalogContext(rt)) } : {});
}

/** `GET /models/{folder}`: a 404 for anything that is not a folder name as it stands (aliases included). */
function modelsInFolder(ctx: RouteContext): void {
  const folders = ctx.rt.models.folders;
  const folder = ctx.params.folder ?? "";
  if (!folders.has(folder)) return sendEmpty(ctx.res, 404);
  sendJson(ctx.res, 200, folders.list(folder));
}

const INDEX_HTML = Buffer.from(
  "<!DOCTYPE html>\n<html><head><title>ComfyUI</title></head><body><p>ComfyUI protocol emulator: no frontend.</p></body></html>\n",
);

export function addInfoRoutes(router: Router): void {
  router
    .add("GET", "/system_stats", systemStats)
    .add("GET", "/features", (ctx) => sendJson(ctx.res, 200, serverFeatures(ctx.rt)))
    .add("GET", "/object_info", objectInfo)
    .add("GET", "/object_info/{node_class}", objectInfoOne)
    .add("GET", "/models", (ctx) => sendJson(ctx.res, 200, ctx.rt.models.folders.names()))
    .add("GET", "/models/{folder}", modelsInFolder)
    // Embedding names without their extension, as prompts write them (`embedding:name`).
    .add("GET", "/embeddings", (ctx) =>
      sendJson(
        ctx.res,
        200,
        ctx.rt.models.folders.list("embeddings").map((name) => splitext(name)[0]),
      ),
    )
    .add("GET", "/extensions", (ctx) => sendJson(ctx.res, 200, []))
    .add("GET", "/", (ctx) => sendBytes(ctx.res, INDEX_HTML, { "Content-Type": "text/html", "Cache-Control": "no-cache", Pragma: "no-cache", Expires: "0" }));
}
