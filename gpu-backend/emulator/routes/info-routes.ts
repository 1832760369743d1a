/**
 * Read-only information routes: `/system_stats`, `/features`, `/object_info[/{class}]`,
 * `/models[/{folder}]`, `/embeddings`, `/extensions` and `/` (a stand-in for the frontend's
 * index.html, since real hosts have the frontend package installed).
 */
import { freemem, totalmem } from "node:os";
import { sendBytes, sendEmpty, sendJson } from "../http.ts";
import { nodeInfo } from "../nodes/catalog.ts";
import type { RouteContext, Router } from "../router.ts";
import type { Runtime } from "../runtime.ts";

export const COMFYUI_VERSION = "0.3.64";

/** Model folders known to folder_paths.py @ 0.3.64, in its order. */
const MODEL_FOLDERS = [
  "checkpoints",
  "configs",
  "loras",
  "vae",
  "text_encoders",
  "diffusion_models",
  "clip_vision",
  "style_models",
  "embeddings",
  "diffusers",
  "vae_approx",
  "controlnet",
  "gligen",
  "upscale_models",
  "custom_nodes",
  "hypernetworks",
  "photomaker",
  "classifiers",
  "model_patches",
  "audio_encoders",
];

export function serverFeatures(rt: Runtime): Record<string, unknown> {
  return { supports_preview_metadata: true, max_upload_size: rt.config.maxUploadSizeMb * 1024 * 1024 };
}

function systemStats(ctx: RouteContext): void {
  const { config, boundPort } = ctx.rt;
  const vram = config.vramMb * 1024 * 1024;
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
        vram_free: vram - 512 * 1024 * 1024,
        torch_vram_total: 0,
        torch_vram_free: 0,
      },
    ],
  });
}

function objectInfo(ctx: RouteContext): void {
  const { rt } = ctx;
  const out = new Map<string, unknown>();
  for (const [name, node] of rt.catalog) out.set(name, nodeInfo(node, { dirs: rt.dirs }));
  sendJson(ctx.res, 200, out);
}

function objectInfoOne(ctx: RouteContext): void {
  const { rt } = ctx;
  const name = ctx.params.node_class ?? "";
  const node = rt.catalog.get(name);
  sendJson(ctx.res, 200, node ? { [name]: nodeInfo(node, { dirs: rt.dirs }) } : {});
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
    .add("GET", "/models", (ctx) => sendJson(ctx.res, 200, MODEL_FOLDERS))
    .add("GET", "/models/{folder}", (ctx) => (MODEL_FOLDERS.includes(ctx.params.folder ?? "") ? sendJson(ctx.res, 200, []) : sendEmpty(ctx.res, 404)))
    .add("GET", "/embeddings", (ctx) => sendJson(ctx.res, 200, []))
    .add("GET", "/extensions", (ctx) => sendJson(ctx.res, 200, []))
    .add("GET", "/", (ctx) => sendBytes(ctx.res, INDEX_HTML, { "Content-Type": "text/html", "Cache-Control": "no-cache", Pragma: "no-cache", Expires: "0" }));
}
