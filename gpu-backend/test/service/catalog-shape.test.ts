// Issue 13 item 5: the catalog gpu-backend publishes against the emulator has the shape it has
// against a real ComfyUI 0.3.64. The same gpu-backend code (ComfyClient, WsFollower, ComfyLink,
// CatalogPublisher, EdgeClient, wired as src/app.ts wires them) runs once against the emulator and
// once against a loopback server that replays what a real ComfyUI 0.3.64 answers, each host with
// the files of a fresh ComfyUI checkout on its disk; the fake edge takes each catalog through the
// edge's own checks (HostCatalog, catalogHash). The full service's wiring is covered by
// catalog.test.ts (the replay cannot take the input-folder probe: that needs a real upload).
//
// What the replay answers, and where each answer comes from:
// - `GET /system_stats`, `GET /object_info`: recorded (01_system_stats.json, 00_object_info_all.json,
//   served as the recorded JSON text, digits of 2^64-1 included).
// - `GET /ws`: the greeting ComfyUI sends on connect, as recorded (11_run_ws.json's first message:
//   `status` with `sid` = the client's `clientId`; server.py @ a125cd84, line 206).
// - `GET /models`: not recorded; derived from the source at a125cd84: `folder_names_and_paths`'s
//   keys in insertion order (server.py line 263; folder_paths.py lines 23-51; main.py lines 42-47 add
//   directories to existing keys only).
// - `GET /models/{folder}`: `get_filename_list(folder)` (server.py lines 267-273), which the
//   recording shows for most folders: their loaders' combos in 00_object_info_all.json are exactly
//   that list (nodes.py lines 546, 564, 685, 791, 906, 931, 988, 1024, 1121; comfy_extras). VAELoader
//   adds "pixel_space" (and TAESD names) to `vae`'s list (nodes.py lines 697-734). The folders no
//   node lists are derived from the source and the checkout's files: `vae_approx`, `embeddings`
//   hold only an extensionless `put_..._here` (the extension filter drops it); `diffusers`' only
//   extension is "folder", which no file name ends in (folder_paths.py line 33); `classifiers`
//   (extension "") has no directory in the checkout; `custom_nodes` (no filter, line 41) lists the
//   checkout's two files. An unknown folder is a bare 404 (server.py line 271).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, onTestFinished } from "vitest";
import { WebSocketServer } from "ws";
import { type CatalogModel, catalogHash, HostCatalog } from "../../../src/protocol/catalog.ts";
import { startEmulator } from "../../emulator/index.ts";
import { encodePng } from "../../emulator/media/png.ts";
import { CatalogPublisher } from "../../src/catalog.ts";
import { ComfyClient } from "../../src/comfy/client.ts";
import { WsFollower } from "../../src/comfy/follower.ts";
import { ComfyLink } from "../../src/comfy/link.ts";
import { loadConfig } from "../../src/config.ts";
import { EdgeClient } from "../../src/edge/client.ts";
import { createLogger } from "../../src/log.ts";
import { COMFY_0_3_64_FOLDERS } from "../support/comfy-folders.ts";
import { FakeEdge } from "../support/fake-edge.ts";
import { TEST_ENV } from "../support/harness.ts";

const RECORDED = new URL("../emulator/recorded/comfyui-0.3.64/", import.meta.url);

/**
 * A recorded exchange's body. 00_object_info_all.json is one line ending in its "json" field, cut
 * out as the text ComfyUI sent (2^64-1 stays 20 digits, which a JSON.parse round trip would not
 * keep); the other recordings are re-serialized (nothing in them changes on a round trip).
 */
function recordedBody(file: string, asText = false): { text: string; contentType: string } {
  const text = readFileSync(new URL(file, RECORDED), "utf8");
  const exchange = JSON.parse(text) as { content_type: string; json: unknown };
  if (!asText) return { text: JSON.stringify(exchange.json), contentType: exchange.content_type };
  const body = text.slice(text.indexOf('"json": ') + '"json": '.length, text.lastIndexOf("}"));
  if (JSON.stringify(JSON.parse(body)) !== JSON.stringify(exchange.json)) throw new Error(`${file}: "json" is not the last field`);
  return { text: body, contentType: exchange.content_type };
}

const OBJECT_INFO = recordedBody("00_object_info_all.json", true);
const SYSTEM_STATS = recordedBody("01_system_stats.json");
const RECORDED_INFO = JSON.parse(OBJECT_INFO.text) as Record<string, { input: { required: Record<string, unknown[]> } }>;

/** The files of a ComfyUI checkout at a125cd84 that model folders and LoadImage list (`git ls-tree -r a125cd84 -- models custom_nodes input`). */
const CHECKOUT_FILES = [
  "custom_nodes/example_node.py.example",
  "custom_nodes/websocket_image_save.py",
  "models/audio_encoders/put_audio_encoder_models_here",
  "models/checkpoints/put_checkpoints_here",
  "models/clip/put_clip_or_text_encoder_models_here",
  "models/clip_vision/put_clip_vision_models_here",
  ...[
    "anything_v3",
    "v1-inference",
    "v1-inference_clip_skip_2",
    "v1-inference_clip_skip_2_fp16",
    "v1-inference_fp16",
    "v1-inpainting-inference",
    "v2-inference-v",
    "v2-inference-v_fp32",
    "v2-inference",
    "v2-inference_fp32",
    "v2-inpainting-inference",
  ].map((name) => `models/configs/${name}.yaml`),
  "models/controlnet/put_controlnets_and_t2i_here",
  "models/diffusers/put_diffusers_models_here",
  "models/diffusion_models/put_diffusion_model_files_here",
  "models/embeddings/put_embeddings_or_textual_inversion_concepts_here",
  "models/gligen/put_gligen_models_here",
  "models/hypernetworks/put_hypernetworks_here",
  "models/loras/put_loras_here",
  "models/model_patches/put_model_patches_here",
  "models/photomaker/put_photomaker_models_here",
  "models/style_models/put_t2i_style_model_here",
  "models/text_encoders/put_text_encoder_files_here",
  "models/unet/put_unet_files_here",
  "models/upscale_models/put_esrgan_and_other_upscale_models_here",
  "models/vae/put_vae_here",
  "models/vae_approx/put_taesd_encoder_pth_and_taesd_decoder_pth_here",
];

/** One host's disk: a fresh checkout's files (contents stand-ins: only their names and sizes matter). */
function checkout(): string {
  const base = mkdtempSync(join(tmpdir(), "catalog-shape-"));
  onTestFinished(() => rmSync(base, { recursive: true, force: true }));
  for (const [i, file] of CHECKOUT_FILES.entries()) {
    mkdirSync(join(base, file, ".."), { recursive: true });
    writeFileSync(join(base, file), file.endsWith(".yaml") ? `# ${file}\n${"x".repeat(i)}\n` : "");
  }
  mkdirSync(join(base, "input"), { recursive: true });
  writeFileSync(join(base, "input", "example.png"), encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3) }));
  return base;
}

const FOLDERS = COMFY_0_3_64_FOLDERS;

/** A recorded combo's options: `[[...options], {...}]` (classic nodes) or `["COMBO", {options}]` (V3 nodes). */
function combo(className: string, input: string): string[] {
  const spec = RECORDED_INFO[className]?.input.required[input];
  if (!spec) throw new Error(`no ${className}.${input} in the recording`);
  if (Array.isArray(spec[0])) return spec[0] as string[];
  return (spec[1] as { options: string[] }).options;
}

/** What `GET /models/{folder}` answers on the recorded host (see the header for the sources). */
function realModelsIn(folder: string): string[] | undefined {
  const fromRecording: Record<string, [string, string]> = {
    checkpoints: ["CheckpointLoaderSimple", "ckpt_name"],
    configs: ["CheckpointLoader", "config_name"],
    loras: ["LoraLoaderModelOnly", "lora_name"],
    text_encoders: ["CLIPLoader", "clip_name"],
    diffusion_models: ["UNETLoader", "unet_name"],
    clip_vision: ["CLIPVisionLoader", "clip_name"],
    style_models: ["StyleModelLoader", "style_model_name"],
    controlnet: ["ControlNetLoader", "control_net_name"],
    gligen: ["GLIGENLoader", "gligen_name"],
    upscale_models: ["UpscaleModelLoader", "model_name"],
    hypernetworks: ["HypernetworkLoader", "hypernetwork_name"],
    photomaker: ["PhotoMakerLoader", "photomaker_model_name"],
    model_patches: ["ModelPatchLoader", "name"],
    audio_encoders: ["AudioEncoderLoader", "audio_encoder_name"],
  };
  const recorded = fromRecording[folder];
  if (recorded) return combo(...recorded);
  const vaes = combo("VAELoader", "vae_name");
  if (folder === "vae") return vaes.filter((name) => !["taesd", "taesdxl", "taesd3", "taef1", "pixel_space"].includes(name));
  if (folder === "custom_nodes") return ["example_node.py.example", "websocket_image_save.py"];
  if (FOLDERS.includes(folder)) return [];
  return undefined;
}

/** The loopback stand-in for the recorded ComfyUI 0.3.64: its answers only, on 127.0.0.1, port 0. */
async function startRealReplay(): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const send = (res: ServerResponse, status: number, body: { text: string; contentType: string } | undefined) => {
    if (!body) return res.writeHead(status, { "Content-Length": "0" }).end();
    res.writeHead(status, { "Content-Type": body.contentType, "Content-Length": Buffer.byteLength(body.text) }).end(body.text);
  };
  const json = (value: unknown) => ({ text: JSON.stringify(value), contentType: "application/json; charset=utf-8" });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(`${req.method} ${path}`);
    if (req.method !== "GET") return send(res, 405, undefined);
    if (path === "/system_stats") return send(res, 200, SYSTEM_STATS);
    if (path === "/object_info") return send(res, 200, OBJECT_INFO);
    if (path === "/models") return send(res, 200, json(FOLDERS));
    const folder = /^\/models\/([^/]+)$/.exec(path)?.[1];
    const files = folder === undefined ? undefined : realModelsIn(decodeURIComponent(folder));
    if (files) return send(res, 200, json(files));
    send(res, 404, undefined);
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/ws") return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ type: "status", data: { status: { exec_info: { queue_remaining: 0 } }, sid: url.searchParams.get("clientId") } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** gpu-backend's catalog path against the ComfyUI at `comfyUrl` whose base folder is `baseDir`: the catalog the edge took. */
async function publishedCatalog(comfyUrl: string, baseDir: string): Promise<unknown> {
  const edge = await FakeEdge.start();
  onTestFinished(() => edge.close());
  const loaded = loadConfig({ ...edge.hostEnv(), COMFY_URL: comfyUrl, COMFY_BASE_DIR: baseDir, ...TEST_ENV });
  if (!loaded.ok) throw new Error(loaded.problems.join("; "));
  const cfg = loaded.config;
  const log = createLogger("debug", () => {});
  const comfy = new ComfyClient(cfg.comfyUrl, cfg.comfyRequestTimeoutMs);
  const follower = new WsFollower(comfy.wsUrl, "catalog-shape", { message: () => {}, preview: () => {} }, log);
  let publisher: CatalogPublisher | undefined;
  const link = new ComfyLink({
    client: comfy,
    follower,
    log,
    lostTimeoutMs: cfg.comfyLostTimeoutMs,
    requestTimeoutMs: cfg.comfyRequestTimeoutMs,
    hooks: { onReady: () => void publisher?.check(), onLost: () => {} },
  });
  publisher = new CatalogPublisher({
    hostId: cfg.hostId,
    comfy,
    link,
    edge: new EdgeClient(cfg, log),
    modelsDir: join(cfg.comfyDirs.base, "models"),
    lock: { models: [] },
    log,
  });
  link.start();
  onTestFinished(() => link.stop());
  await edge.waitUntil(() => edge.catalogs[0], 10_000, "a catalog");
  // What the host sent, before the fake edge's parse: the edge's own checks run on it below.
  return JSON.parse(JSON.stringify(edge.catalogs[0]));
}

type Catalog = { object_info: Record<string, Record<string, unknown>>; models: Record<string, CatalogModel[]> };

describe("the catalog against the emulator has the shape it has against a real ComfyUI 0.3.64", () => {
  it("same layout, the same entry for every shared class, the same model folders and entries, accepted by the edge", async ({ expect }) => {
    const emulator = await startEmulator({ port: 0, host: "127.0.0.1", stepMs: 5, baseDir: checkout() });
    onTestFinished(() => emulator.close());
    const real = await startRealReplay();
    const fromEmulator = await publishedCatalog(emulator.url, emulator.dirs.base);
    const fromReal = await publishedCatalog(real.url, checkout());

    // The catalog the edge accepts: HostCatalog parses it unchanged and its hash is catalogHash's.
    for (const raw of [fromEmulator, fromReal]) {
      const parsed = HostCatalog.safeParse(raw);
      expect(parsed.success, JSON.stringify(parsed.error?.issues.slice(0, 3))).toBe(true);
      expect(parsed.data).toEqual(raw);
      expect(parsed.data!.hash).toBe(await catalogHash(parsed.data!));
    }
    const emu = fromEmulator as Catalog;
    const comfy = fromReal as Catalog;
    expect(Object.keys(emu)).toEqual(["type", "host_id", "sent_at", "hash", "object_info", "models"]);
    expect(Object.keys(emu)).toEqual(Object.keys(comfy));

    // Against the real host, object_info is ComfyUI's document exactly, key order included.
    expect(JSON.stringify(comfy.object_info)).toBe(JSON.stringify(RECORDED_INFO));
    // Every class both have: the identical entry, in the same key order (the hash is over
    // canonical JSON, so order never changes it; the published text still keeps ComfyUI's).
    const shared = Object.keys(emu.object_info).filter((name) => Object.hasOwn(comfy.object_info, name));
    expect(shared.length).toBeGreaterThanOrEqual(22);
    expect(Object.keys(emu.object_info).filter((name) => !shared.includes(name) && !name.endsWith("Emu"))).toEqual([]);
    for (const name of shared) {
      expect(emu.object_info[name], name).toEqual(comfy.object_info[name]);
      expect(JSON.stringify(emu.object_info[name]), name).toBe(JSON.stringify(comfy.object_info[name]));
    }
    // The emulator's own classes (`*Emu`) are laid out like one of ComfyUI's entries.
    const layouts = new Set(Object.values(comfy.object_info).map((entry) => Object.keys(entry).join(",")));
    for (const [name, entry] of Object.entries(emu.object_info)) expect(layouts.has(Object.keys(entry).join(",")), name).toBe(true);

    // Models: the same folders in ComfyUI's order (custom_nodes, node sources, left out), the same
    // entries (`{name, size?, sha256?}`): the configs a checkout ships, with their sizes on disk.
    expect(Object.keys(comfy.models)).toEqual(FOLDERS.filter((f) => f !== "custom_nodes"));
    expect(Object.keys(emu.models)).toEqual(Object.keys(comfy.models));
    for (const entries of [...Object.values(emu.models), ...Object.values(comfy.models)])
      for (const entry of entries) expect(["name", "size", "sha256"]).toEqual(expect.arrayContaining(Object.keys(entry)));
    expect(emu.models).toEqual(comfy.models);
    expect(comfy.models.configs?.map((m) => m.name)).toEqual(combo("CheckpointLoader", "config_name"));
    expect(comfy.models.configs?.every((m) => typeof m.size === "number" && m.sha256 === undefined)).toBe(true);
    expect(Object.entries(comfy.models).filter(([folder, list]) => folder !== "configs" && list.length > 0)).toEqual([]);
    expect(real.requests).not.toContain("GET /models/custom_nodes");
  });
});
