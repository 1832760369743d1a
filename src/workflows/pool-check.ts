/**
 * A workflow checked against what a pool's live hosts can run: each distinct host catalog (the
 * `object_info` hosts publish, stored by hash in R2) is a verdict of its own, and the hosts whose
 * catalog accepts the workflow are the ones that could run it. When no live host has published a
 * catalog the pool cannot be checked, and says so (`checked: false`) rather than guessing.
 */
import { catalogKey } from "../blobs/keys.ts";
import { liveCatalogsOf, poolCatalogOf } from "../dispatch/route.ts";
import type { PoolCatalog } from "../dispatch/types.ts";
import type { Env } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import type { ModelFilesPolicy } from "../pools/model-files.ts";
import type { PoolShards } from "../pools/pools.ts";
import type { Catalog } from "./catalog.ts";
import { type PreflightError, type PreflightOptions, preflight } from "./preflight.ts";

export interface PoolCheck {
  /** False when no live host of the pool has a catalog the edge holds. */
  checked: boolean;
  valid: boolean;
  /** Live hosts whose catalog accepts the workflow. */
  eligibleHosts: string[];
  /** When no host accepts it: the errors against the catalog that came closest (fewest errors). */
  errors: PreflightError[];
  /** When checked and valid: the model files the workflow names, per the catalogs that accept it. */
  models: string[] | undefined;
}

/** Parsed catalogs by hash, per isolate: a catalog is megabytes and identical hosts share one. */
const cache = new Map<string, Catalog>();
const CACHE_ENTRIES = 8;

async function catalogOf(env: Env, hash: string): Promise<Catalog | undefined> {
  const hit = cache.get(hash);
  if (hit) {
    cache.delete(hash); // refresh its place: least recently used goes first
    cache.set(hash, hit);
    return hit;
  }
  const object = await env.BLOBS.get(catalogKey(hash));
  if (!object) return undefined;
  const doc = (await object.json()) as { object_info: Catalog };
  cache.set(hash, doc.object_info);
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return doc.object_info;
}

/** The pool's live hosts and their catalogs, as its Dispatcher lists them. */
export type LiveCatalogs = PoolCatalog["hosts"];

/** `hosts`: the pool's live catalogs when the caller already asked for them (else they are read here). */
export async function checkAgainstPool(
  env: Env,
  pool: PoolShards,
  workflow: unknown,
  options: PreflightOptions = {},
  hosts?: LiveCatalogs,
): Promise<PoolCheck> {
  hosts ??= await liveCatalogsOf(env, pool);
  const byHash = new Map<string, string[]>();
  for (const h of hosts) byHash.set(h.catalog_hash, [...(byHash.get(h.catalog_hash) ?? []), h.id]);
  const eligibleHosts: string[] = [];
  let closest: PreflightError[] | undefined;
  let checked = false;
  const models = new Set<string>();
  for (const [hash, ids] of [...byHash].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const catalog = await catalogOf(env, hash);
    if (!catalog) continue;
    checked = true;
    const result = preflight(workflow, catalog, options);
    if (result.valid) {
      eligibleHosts.push(...ids);
      for (const m of result.models) models.add(m);
    } else if (!closest || result.errors.length < closest.length) closest = result.errors;
  }
  eligibleHosts.sort();
  const valid = !checked || eligibleHosts.length > 0;
  return { checked, valid, eligibleHosts, errors: valid ? [] : (closest ?? []), models: checked && valid ? [...models].sort() : undefined };
}

/** Pre-flight's options for a pool: model-file combos go unchecked where hosts fetch models on demand. */
export function poolPreflightOptions(pool: { model_files: ModelFilesPolicy }): PreflightOptions {
  return { modelCombos: pool.model_files === "on_demand" ? "skip" : "check" };
}

/** An error as the API shows it: its pointer, detail and ComfyUI's type, and where it applies. */
export type PublicWorkflowError = Pick<PreflightError, "pointer" | "detail" | "code" | "node_id" | "class_type" | "input_name" | "value">;

export function publicError({ pointer, detail, code, node_id, class_type, input_name, value }: PreflightError): PublicWorkflowError {
  return {
    pointer,
    detail,
    code,
    ...(node_id !== undefined ? { node_id } : {}),
    ...(class_type !== undefined ? { class_type } : {}),
    ...(input_name !== undefined ? { input_name } : {}),
    ...(value !== undefined ? { value } : {}),
  };
}

/**
 * A submit's check: a workflow that no live host of the pool accepts is a 422 — `missing-model`
 * when the only problems are model files the hosts do not have, `invalid-workflow` otherwise —
 * with every error and its pointer. A pool whose hosts have published no catalog is not checked.
 * Returns the check of a workflow that may run (its `models` feed placement).
 */
export async function refuseUnrunnable(
  env: Env,
  poolShards: PoolShards,
  workflow: unknown,
  otherPools: () => Promise<PoolShards[]>,
  options: PreflightOptions = {},
  hosts?: LiveCatalogs,
): Promise<PoolCheck> {
  const pool = poolShards.name;
  const check = await checkAgainstPool(env, poolShards, workflow, options, hosts);
  if (check.valid) return check;
  const errors = check.errors.map(publicError);
  const first = check.errors[0];
  const summary = `${check.errors.length === 1 ? "1 problem" : `${check.errors.length} problems`}`;
  if (check.errors.every((e) => e.model)) {
    const files = [...new Set(check.errors.map((e) => String(e.value)))];
    const elsewhere = await poolsHaving(
      env,
      files,
      (await otherPools()).filter((p) => p.name !== pool),
    );
    const where = elsewhere.length > 0 ? ` Pools whose live hosts have ${files.length === 1 ? "it" : "them all"}: ${elsewhere.join(", ")}.` : "";
    throw new ProblemError("missing-model", `No live GPU host of pool "${pool}" has ${files.map((f) => `'${f}'`).join(", ")}; ${first?.detail ?? ""}${where}`, {
      extensions: { pool, models: files, available_in: elsewhere, errors },
    });
  }
  throw new ProblemError(
    "invalid-workflow",
    `The workflow would fail ComfyUI's validation on every live host of pool "${pool}" (${summary}); first: ${first?.pointer}: ${first?.detail}`,
    { extensions: { pool, errors } },
  );
}

/** The pools among `pools` where some live host has every one of `files` (in any model folder). Only on the error path. */
async function poolsHaving(env: Env, files: string[], pools: PoolShards[]): Promise<string[]> {
  const found = await Promise.all(
    pools.map(async (p) => {
      const name = p.name;
      const { models } = await poolCatalogOf(env, p);
      const hostsWith = (file: string) => new Set(Object.values(models).flatMap((byFile) => (Object.hasOwn(byFile, file) ? byFile[file]! : [])));
      const sets = files.map(hostsWith);
      const first = sets[0] ?? new Set<string>();
      return [...first].some((host) => sets.every((s) => s.has(host))) ? name : undefined;
    }),
  );
  return found.filter((n): n is string => n !== undefined).sort();
}
