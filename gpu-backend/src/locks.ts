/**
 * Lock files (audit item 5): everything that decides what a host computes, pinned by content.
 *
 * - ComfyUI and each custom node: a repository and a full 40-character commit (a branch, a tag
 *   or "latest" does not parse);
 * - Python: exact versions, each with at least one `sha256:` hash (for `pip install
 *   --require-hashes`), and torch, torchvision and torchaudio must be among them;
 * - models: name, https URL that contains the revision, 40-character revision, SHA-256, size and
 *   the path under ComfyUI's folder.
 * - node classes: what ComfyUI may run for a job. By default the classes ComfyUI core ships at
 *   the locked commit (bundled as data in `locks/core-classes/<commit>.json`, derived from that
 *   release's `/object_info`) plus `extra_node_classes` (the custom nodes' classes); or an
 *   explicit `allowed_node_classes`. A lock whose commit has no bundled list and that names no
 *   explicit list is refused at start: the host would not know what it may run.
 * `lockHash` is the SHA-256 of the canonical JSON (keys sorted, no whitespace) of the parsed lock;
 * heartbeats report it so the edge can refuse hosts built from another lock. `verifyOnDisk`
 * compares a ComfyUI checkout with the lock (git commits, model sizes and hashes).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { z } from "zod";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";
import { sha256Hex } from "./lib/hash.ts";

const commit = z.string().regex(/^[0-9a-f]{40}$/, "must be a full 40-character lowercase commit SHA (not a branch, tag or 'latest')");
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256");
const httpsUrl = z
  .string()
  .url()
  .refine((u) => u.startsWith("https://"), "must be an https:// URL");
const exactVersion = z.string().regex(/^[0-9][0-9A-Za-z.+!_-]*$/, "must be one exact version (no ranges, no 'latest')");
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !normalize(p).startsWith("..") && !p.includes("\\"), "must be a relative path inside the ComfyUI folder");
// Custom nodes' class names may hold spaces, brackets, anything printable.
const className = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\u0000-\u001f\u007f]+$/, "must be a node class name (no control characters)");
const dirName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a plain folder name");

export const REQUIRED_PYTHON_PACKAGES = ["torch", "torchvision", "torchaudio"] as const;

export const LockFile = z
  .object({
    lock_version: z.literal(1),
    /** `comfyui`: a real ComfyUI checkout; `emulator`: the protocol emulator (no Python, no models). */
    target: z.enum(["comfyui", "emulator"]),
    description: z.string().max(500).optional(),
    comfyui: z.object({ repo: httpsUrl, commit, version: z.string().min(1) }).strict(),
    custom_nodes: z.array(z.object({ name: dirName, repo: httpsUrl, commit }).strict()).default([]),
    python: z
      .object({
        version: exactVersion,
        requirements: z.array(
          z
            .object({
              name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
              version: exactVersion,
              hashes: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be sha256:<64 hex>")).min(1, "needs at least one hash"),
            })
            .strict(),
        ),
      })
      .strict()
      .optional(),
    models: z
      .array(z.object({ name: z.string().min(1), url: httpsUrl, revision: commit, sha256, size: z.number().int().positive(), path: relativePath }).strict())
      .default([]),
    /** Classes allowed on top of ComfyUI core's at the locked commit (the custom nodes' classes). */
    extra_node_classes: z.array(className).max(10_000).optional(),
    /** Every class allowed, instead of core's plus `extra_node_classes`. */
    allowed_node_classes: z.array(className).min(1).max(10_000).optional(),
  })
  .strict()
  .superRefine((lock, ctx) => {
    if (lock.target === "comfyui") {
      if (!lock.python) ctx.addIssue({ code: "custom", path: ["python"], message: "a ComfyUI host must pin its Python requirements" });
      const names = new Set(lock.python?.requirements.map((r) => r.name.toLowerCase()) ?? []);
      for (const pkg of REQUIRED_PYTHON_PACKAGES)
        if (lock.python && !names.has(pkg)) ctx.addIssue({ code: "custom", path: ["python", "requirements"], message: `${pkg} must be pinned` });
    }
    lock.models.forEach((m, i) => {
      if (!m.url.includes(m.revision))
        ctx.addIssue({ code: "custom", path: ["models", i, "url"], message: "must contain the pinned revision (a URL to a branch can change under us)" });
    });
    if (lock.extra_node_classes && lock.allowed_node_classes)
      ctx.addIssue({ code: "custom", path: ["allowed_node_classes"], message: "give either allowed_node_classes or extra_node_classes, not both" });
    const seen = new Set<string>();
    lock.models.forEach((m, i) => {
      if (seen.has(m.path)) ctx.addIssue({ code: "custom", path: ["models", i, "path"], message: "two models share this path" });
      seen.add(m.path);
    });
  });
export type LockFile = z.output<typeof LockFile>;

export type LockResult = { ok: true; lock: LockFile; hash: string } | { ok: false; problems: string[] };

export function parseLock(text: string): LockResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const parsed = LockFile.safeParse(json);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`) };
  return { ok: true, lock: parsed.data, hash: sha256Hex(canonicalJson(parsed.data)) };
}

export function loadLock(path: string): LockResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return { ok: false, problems: [`cannot read ${path}: ${(err as Error).message}`] };
  }
  return parseLock(text);
}

/** Bundled lists of ComfyUI core's node classes, one file per ComfyUI commit. */
export const CORE_CLASSES_DIR = fileURLToPath(new URL("../locks/core-classes/", import.meta.url));

export const CoreClasses = z
  .object({
    comfyui_commit: commit,
    comfyui_version: z.string().min(1),
    /** Where the list comes from (which `/object_info`, started how). */
    source: z.string().min(1),
    classes: z.array(className).min(1),
  })
  .strict();
export type CoreClasses = z.output<typeof CoreClasses>;

export function coreClassesPath(comfyCommit: string, dir = CORE_CLASSES_DIR): string {
  return join(dir, `${comfyCommit}.json`);
}

export type AllowedClasses = { ok: true; classes: ReadonlySet<string>; source: "explicit" | "core+extra" } | { ok: false; problem: string };

/**
 * The node classes the lock lets this host run (the deny-list and API nodes are taken out
 * separately, at check time): `allowed_node_classes` when given, else the bundled core list of
 * the locked commit plus `extra_node_classes`.
 */
export function allowedNodeClasses(lock: LockFile, dir = CORE_CLASSES_DIR): AllowedClasses {
  if (lock.allowed_node_classes) return { ok: true, classes: new Set(lock.allowed_node_classes), source: "explicit" };
  const path = coreClassesPath(lock.comfyui.commit, dir);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {
      ok: false,
      problem: `no bundled list of ComfyUI core node classes for commit ${lock.comfyui.commit} (expected ${path}; make one with \`npm run locks:core-classes -w gpu-backend\`), and the lock names no allowed_node_classes`,
    };
  }
  let parsed;
  try {
    parsed = CoreClasses.safeParse(JSON.parse(text));
  } catch (err) {
    return { ok: false, problem: `${path}: not JSON (${(err as Error).message})` };
  }
  if (!parsed.success) return { ok: false, problem: `${path}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}` };
  if (parsed.data.comfyui_commit !== lock.comfyui.commit)
    return { ok: false, problem: `${path} lists the classes of commit ${parsed.data.comfyui_commit}, not ${lock.comfyui.commit}` };
  return { ok: true, classes: new Set([...parsed.data.classes, ...(lock.extra_node_classes ?? [])]), source: "core+extra" };
}

const run = promisify(execFile);

async function gitHead(dir: string): Promise<{ commit: string; dirty: boolean } | string> {
  try {
    const head = (await run("git", ["-C", dir, "rev-parse", "HEAD"], { timeout: 10_000 })).stdout.trim();
    const status = (await run("git", ["-C", dir, "status", "--porcelain", "--untracked-files=no"], { timeout: 30_000 })).stdout.trim();
    return { commit: head, dirty: status !== "" };
  } catch (err) {
    return `not a git checkout (${(err as Error).message.split("\n")[0]})`;
  }
}

/** Streams the file through SHA-256 (models are many GB: never read whole). */
export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

/**
 * Compares a ComfyUI folder with the lock: commits of ComfyUI and every custom node (and no local
 * edits to tracked files), every model's size and (with `models: "sha256"`) its hash.
 */
export async function verifyOnDisk(lock: LockFile, comfyDir: string, models: "sha256" | "size" = "sha256"): Promise<string[]> {
  if (lock.target === "emulator") return [];
  const problems: string[] = [];
  const checkRepo = async (what: string, dir: string, expected: string) => {
    const head = await gitHead(dir);
    if (typeof head === "string") problems.push(`${what}: ${head}`);
    else if (head.commit !== expected) problems.push(`${what}: checked out at ${head.commit}, lock pins ${expected}`);
    else if (head.dirty) problems.push(`${what}: tracked files are modified`);
  };
  await checkRepo("ComfyUI", comfyDir, lock.comfyui.commit);
  for (const node of lock.custom_nodes) await checkRepo(`custom node ${node.name}`, join(comfyDir, "custom_nodes", node.name), node.commit);
  for (const model of lock.models) {
    const path = join(comfyDir, model.path);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      problems.push(`model ${model.name}: missing at ${model.path}`);
      continue;
    }
    if (size !== model.size) problems.push(`model ${model.name}: ${size} bytes, lock says ${model.size}`);
    else if (models === "sha256" && (await fileSha256(path)) !== model.sha256) problems.push(`model ${model.name}: SHA-256 differs from the lock`);
  }
  return problems;
}
