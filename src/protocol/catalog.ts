/**
 * A host's catalog (issue 13.2): what its ComfyUI can run — `/object_info` (node classes and their
 * input specs) and the model files it has, per ComfyUI folder. The host sends it on ready and
 * whenever it changes (`POST edgePaths.catalog`); heartbeats then carry only its hash.
 *
 * The hash is the SHA-256 of the canonical JSON (keys sorted at every level, no whitespace) of
 * `{object_info, models}`: identical hosts produce the same hash, so the edge stores one copy per
 * distinct catalog (content-addressed) and checks every body against the hash it claims.
 */
import { z } from "zod";
import { canonicalJson } from "./canonical-json.ts";
import { sha256, toHex } from "./encoding.ts";
import { hostId } from "./messages.ts";

/** A real ComfyUI's object_info is 1–2 MB of JSON; a catalog body may be this large (its own cap). */
export const MAX_CATALOG_CHARS = 8 * 1024 * 1024;
/** The summary the Dispatcher keeps per catalog (class and model names) must fit in one SQLite row. */
export const MAX_CATALOG_SUMMARY_CHARS = 1024 * 1024;
export const MAX_CATALOG_CLASSES = 20_000;
export const MAX_MODEL_FOLDERS = 128;
export const MAX_MODELS_PER_FOLDER = 10_000;
/** Heartbeats list at most this many resident models ("folder/name"). */
export const MAX_RESIDENT_MODELS = 64;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256");
const printable = /^[^\u0000-\u001f\u007f]+$/;
/** Node class names (custom nodes' may hold spaces, brackets, anything printable). */
const className = z.string().min(1).max(256).regex(printable, "must be a node class name (no control characters)");
/** ComfyUI folder names (`checkpoints`, `loras`, a custom node's own folder…). */
export const modelFolder = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be a plain folder name (1-64 of A-Z a-z 0-9 . _ -)");
/** A model file as ComfyUI names it: a path relative to its folder, `/`-separated, never `..`. */
const modelName = z
  .string()
  .min(1)
  .max(512)
  .regex(printable, "must not hold control characters")
  .refine((n) => !n.startsWith("/") && !n.includes("\\") && !n.split("/").includes(".."), "must be a relative path inside its folder");

export const CatalogModel = z
  .object({
    name: modelName,
    /** Bytes on disk, when the host can see the file. */
    size: z.number().int().min(0).optional(),
    /** From the lock file (verified on disk at start-up), when the lock pins this model. */
    sha256: sha256Hex.optional(),
  })
  .strict();
export type CatalogModel = z.infer<typeof CatalogModel>;

export const ModelInventory = z
  .record(modelFolder, z.array(CatalogModel).max(MAX_MODELS_PER_FOLDER))
  .refine((m) => Object.keys(m).length <= MAX_MODEL_FOLDERS, `at most ${MAX_MODEL_FOLDERS} model folders`);
export type ModelInventory = z.infer<typeof ModelInventory>;

export const ObjectInfoDocument = z
  .record(className, z.record(z.string(), z.unknown()))
  .refine((o) => Object.keys(o).length <= MAX_CATALOG_CLASSES, `at most ${MAX_CATALOG_CLASSES} node classes`);

export const HostCatalog = z.object({
  type: z.literal("host.catalog"),
  host_id: hostId,
  sent_at: z.number().int(),
  /** catalogHash({object_info, models}). */
  hash: sha256Hex,
  object_info: ObjectInfoDocument,
  models: ModelInventory,
});
export type HostCatalog = z.infer<typeof HostCatalog>;

export const CatalogReply = z.object({
  hash: sha256Hex,
  /** False when the edge already had this catalog (another host, or an earlier send). */
  stored: z.boolean(),
});
export type CatalogReply = z.infer<typeof CatalogReply>;

/** The document a catalog's hash is taken over (and what the edge stores under it). */
export function catalogDocument(c: Pick<HostCatalog, "object_info" | "models">): string {
  return canonicalJson({ object_info: c.object_info, models: c.models });
}

export async function catalogHash(c: Pick<HostCatalog, "object_info" | "models">): Promise<string> {
  return toHex(await sha256(catalogDocument(c)));
}

/** What the Dispatcher keeps of a catalog: names only (the full document lives in blob storage). */
export interface CatalogSummary {
  classes: string[];
  models: Record<string, string[]>;
}

export function catalogSummary(c: Pick<HostCatalog, "object_info" | "models">): CatalogSummary {
  const models: Record<string, string[]> = {};
  for (const folder of Object.keys(c.models).sort()) models[folder] = [...new Set(c.models[folder]!.map((m) => m.name))].sort();
  return { classes: Object.keys(c.object_info).sort(), models };
}
