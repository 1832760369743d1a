/**
 * The host's catalog (issue 13.2, src/protocol/catalog.ts): ComfyUI's `/object_info` and its model
 * inventory, published to the edge on every ComfyUI ready and whenever its hash changes.
 *
 * - object_info: the document as ComfyUI wrote it (ComfyLink keeps it unrebuilt, key order
 *   included; the hash is over canonical JSON, so order never changes it).
 * - Models: ComfyUI's own listing (`GET /models`, then `GET /models/{folder}`), so the names are
 *   exactly what a workflow may use. `custom_nodes` is left out: ComfyUI lists it as a folder, but
 *   its "files" are the host's node source tree (every file, `.pyc` and all; thousands on a host
 *   with custom nodes), and no node input takes a name from it. Sizes come from the file ComfyUI
 *   would load among its default directories for the folder (`<COMFY_BASE_DIR>/models/<dir>/<name>`,
 *   first match wins as in `get_full_path`: `text_encoders` also searches `models/clip`,
 *   `diffusion_models` `models/unet` first, `controlnet` also `models/t2i_adapter`); files from
 *   extra_model_paths or the output folder are listed without a size.
 * - SHA-256: never computed here (checkpoints are GBs). A model the lock pins at the path that
 *   file was found at (`models/<dir>/<name>`) carries the lock's SHA-256 when its size is the lock's; with COMFY_DIR
 *   set, start-up already hashed it against the lock (verifyOnDisk). A pinned model ComfyUI does
 *   not list is logged (`catalog_lock_model_missing`).
 * - When: `check()` runs on each ready (first, recovered, reconnected), every
 *   CATALOG_CHECK_EVERY heartbeats (cheap: a few local HTTP calls and a hash), and when the edge's
 *   heartbeat reply says it lacks our catalog. A check whose hash equals the last accepted one
 *   sends nothing. Publishing uses the edge client's retry policy.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import {
  CatalogModel,
  CatalogReply,
  catalogHash,
  type HostCatalog,
  MAX_MODEL_FOLDERS,
  MAX_MODELS_PER_FOLDER,
  modelFolder,
} from "../../src/protocol/catalog.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { PRIVATE_DIR } from "../../src/protocol/private-models.ts";
import type { ComfyClient } from "./comfy/client.ts";
import type { ComfyLink } from "./comfy/link.ts";
import type { EdgeClient } from "./edge/client.ts";
import type { LockFile } from "./locks.ts";
import type { Logger } from "./log.ts";

/** Heartbeats between two catalog checks (a check that finds no change sends nothing). */
export const CATALOG_CHECK_EVERY = 12;

/** A folder ComfyUI lists that holds no models (folder_paths.py @ a125cd84, line 41: `<base>/custom_nodes`, any file). */
const NOT_MODELS = new Set(["custom_nodes"]);

/**
 * The folders whose default directories under `models/` are not just `models/<folder>`, in
 * ComfyUI's search order (folder_paths.py @ a125cd84, lines 28, 29 and 36).
 */
const DEFAULT_DIRS: Readonly<Record<string, readonly string[]>> = {
  text_encoders: ["text_encoders", "clip"],
  diffusion_models: ["unet", "diffusion_models"],
  controlnet: ["controlnet", "t2i_adapter"],
};

export type CatalogCheck = { published: boolean; hash: string } | { published: false; hash: undefined; why: string };

export class CatalogPublisher {
  /** Hash of the catalog the edge last accepted (what heartbeats carry); undefined until then. */
  publishedHash: string | undefined;
  /** Catalogs the edge accepted, in order (tests, /health). */
  publishes = 0;
  private running: Promise<CatalogCheck> | undefined;
  private again = false;
  private readonly opts: {
    hostId: string;
    comfy: Pick<ComfyClient, "modelFolders" | "modelsIn">;
    link: Pick<ComfyLink, "state" | "objectInfo">;
    edge: EdgeClient;
    modelsDir: string;
    lock: Pick<LockFile, "models">;
    log: Logger;
  };

  constructor(opts: CatalogPublisher["opts"]) {
    this.opts = opts;
  }

  /** Publishes the catalog if it changed (or `force`). Concurrent calls coalesce into one more run. */
  async check(force = false): Promise<CatalogCheck> {
    if (force) this.publishedHash = undefined;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let result: CatalogCheck;
      do {
        this.again = false;
        result = await this.once();
      } while (this.again);
      return result;
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The current catalog, read from ComfyUI and the disk. */
  async build(): Promise<HostCatalog> {
    const { comfy, link } = this.opts;
    const models: Record<string, CatalogModel[]> = {};
    const folders = (await comfy.modelFolders()).filter((f) => !NOT_MODELS.has(f) && modelFolder.safeParse(f).success).slice(0, MAX_MODEL_FOLDERS);
    const pinned = new Map(this.opts.lock.models.map((m) => [m.path, m]));
    const seen = new Set<string>();
    for (const folder of folders) {
      // A name the edge would refuse (control characters, `..`) is left out rather than the whole catalog refused.
      // Tenants' private files (`_t/…`, fetched for their jobs) are nobody else's business.
      const names = (await comfy.modelsIn(folder))
        .filter((name) => name.split("/")[0] !== PRIVATE_DIR && CatalogModel.safeParse({ name }).success)
        .slice(0, MAX_MODELS_PER_FOLDER);
      models[folder] = names.map((name) => {
        const entry: CatalogModel = { name };
        const found = this.findFile(folder, name);
        const size = found?.size;
        if (size !== undefined) entry.size = size;
        const lockPath = `models/${found?.dir ?? folder}/${name}`;
        const lockModel = pinned.get(lockPath);
        if (lockModel) {
          seen.add(lockPath);
          if (size === lockModel.size) entry.sha256 = lockModel.sha256;
          else this.opts.log.warn("catalog_lock_model_differs", { model: lockModel.name, path: lockPath, size: size ?? null, lock_size: lockModel.size });
        }
        return entry;
      });
    }
    for (const [path, m] of pinned) if (!seen.has(path)) this.opts.log.warn("catalog_lock_model_missing", { model: m.name, path });
    const content = { object_info: { ...link.objectInfo }, models };
    return { type: "host.catalog", host_id: this.opts.hostId, sent_at: Date.now(), hash: await catalogHash(content), ...content };
  }

  /** The file ComfyUI would load for `folder/name` among its default directories, if it is one of them. */
  private findFile(folder: string, name: string): { dir: string; size: number } | undefined {
    for (const dir of DEFAULT_DIRS[folder] ?? [folder]) {
      const size = fileSize(join(this.opts.modelsDir, dir, name));
      if (size !== undefined) return { dir, size };
    }
    return undefined;
  }

  private async once(): Promise<CatalogCheck> {
    const { link, edge, log } = this.opts;
    if (link.state !== "ready") return { published: false, hash: undefined, why: `comfy ${link.state}` };
    let catalog: HostCatalog;
    try {
      catalog = await this.build();
    } catch (err) {
      log.warn("catalog_build_failed", { error: err as Error });
      return { published: false, hash: undefined, why: "build failed" };
    }
    if (catalog.hash === this.publishedHash) return { published: false, hash: catalog.hash };
    const result = await edge.postJson("catalog", edgePaths.catalog(this.opts.hostId), catalog, (json) => CatalogReply.safeParse(json).data);
    if (!result.ok) {
      log.warn("catalog_publish_failed", {
        reason: result.reason,
        ...(result.reason === "rejected" ? { status: result.status, detail: result.detail } : {}),
        ...(result.reason === "unavailable" ? { detail: result.detail } : {}),
      });
      return { published: false, hash: undefined, why: result.reason };
    }
    this.publishedHash = catalog.hash;
    this.publishes++;
    log.info("catalog_published", {
      hash: catalog.hash,
      stored: result.value.stored,
      classes: Object.keys(catalog.object_info).length,
      models: Object.values(catalog.models).reduce((n, l) => n + l.length, 0),
    });
    return { published: true, hash: catalog.hash };
  }
}

function fileSize(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}
