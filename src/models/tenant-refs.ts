/**
 * A tenant's private model files in its workflows: an input value `tenant:<name>` (or
 * `tenant:<folder>/<name>` when the tenant has the name in several folders) names one of the
 * tenant's ready files (`POST /v1/models`). At submit and validate the edge rewrites it to the
 * host-side name (`<folder>/_t/<sha256><ext>`, src/protocol/private-models.ts) and the job carries the file's
 * ref, so its host fetches exactly those bytes. Only the owner can name a file this way (the
 * lookup is in the caller's scope); any value under `_t/` is refused, so no other tenant's
 * workflow can reach the file by its host-side name.
 */
import { createDb } from "../db/client.ts";
import { blobsOf, modelsNamed } from "../db/models.ts";
import type { Env } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { pointerToken } from "../jobs/workflow.ts";
import type { ModelRef } from "../protocol/messages.ts";
import { isPrivateModelName, privateModelName } from "../protocol/private-models.ts";

export const TENANT_MODEL_PREFIX = "tenant:";

export interface ResolvedTenantModels {
  /** The workflow with every `tenant:` value rewritten (the same object when there were none). */
  workflow: Record<string, unknown>;
  /** The files the job names, as hosts fetch them (host-side names). */
  refs: ModelRef[];
}

interface Use {
  pointer: string;
  nodeId: string;
  input: string;
  folder: string | undefined;
  name: string;
}

export async function resolveTenantModels(env: Env, tenantId: string, workflow: Record<string, unknown>): Promise<ResolvedTenantModels> {
  const uses: Use[] = [];
  const reserved: { pointer: string; detail: string }[] = [];
  for (const [nodeId, node] of Object.entries(workflow)) {
    const inputs = typeof node === "object" && node !== null ? (node as { inputs?: unknown }).inputs : undefined;
    if (typeof inputs !== "object" || inputs === null) continue;
    for (const [input, value] of Object.entries(inputs)) {
      if (typeof value !== "string") continue;
      const pointer = `/workflow/${pointerToken(nodeId)}/inputs/${pointerToken(input)}`;
      if (value.startsWith(TENANT_MODEL_PREFIX)) {
        const ref = value.slice(TENANT_MODEL_PREFIX.length);
        const slash = ref.indexOf("/");
        const folder = slash > 0 ? ref.slice(0, slash) : undefined;
        uses.push({ pointer, nodeId, input, folder, name: folder === undefined ? ref : ref.slice(slash + 1) });
        // `tenant:<name>` where the name itself has a subfolder is tried as a name too (below).
      } else if (isPrivateModelName(value)) {
        reserved.push({ pointer, detail: "names under _t/ are reserved for private model files; name your own with tenant:<name>" });
      }
    }
  }
  if (reserved.length > 0) {
    throw new ProblemError("invalid-input", `${reserved[0]!.pointer}: ${reserved[0]!.detail}.`, { extensions: { errors: reserved.slice(0, 50) } });
  }
  if (uses.length === 0) return { workflow, refs: [] };

  const db = createDb(env.DB);
  const wanted = [...new Set(uses.flatMap((u) => [u.name, ...(u.folder !== undefined ? [`${u.folder}/${u.name}`] : [])]))];
  const rows = await modelsNamed(db, tenantId, wanted);
  const blobs = await blobsOf(
    db,
    tenantId,
    rows.map((r) => r.sha256),
  );
  const rewritten = structuredClone(workflow) as Record<string, { inputs: Record<string, unknown> }>;
  const refs = new Map<string, ModelRef>();
  const problems: { pointer: string; detail: string }[] = [];
  for (const use of uses) {
    // `tenant:loras/x.safetensors` is the file x.safetensors in loras, or a file named loras/x.safetensors.
    const inFolder = use.folder !== undefined ? rows.filter((r) => r.folder === use.folder && r.name === use.name) : [];
    const byName = rows.filter((r) => r.name === (use.folder !== undefined ? `${use.folder}/${use.name}` : use.name));
    const matches = inFolder.length > 0 ? inFolder : byName;
    const label = `${TENANT_MODEL_PREFIX}${use.folder !== undefined ? `${use.folder}/` : ""}${use.name}`;
    if (matches.length > 1) {
      problems.push({ pointer: use.pointer, detail: `${label} is in ${matches.map((m) => m.folder).join(" and ")}; write tenant:<folder>/<name>` });
      continue;
    }
    const model = matches[0];
    const blob = model && blobs.get(model.sha256);
    if (!model || !blob) {
      problems.push({ pointer: use.pointer, detail: `${label}: this tenant has no model file by that name (POST /v1/models adds one)` });
      continue;
    }
    if (blob.state !== "ready") {
      problems.push({ pointer: use.pointer, detail: `${label} is ${blob.state}, not ready yet` });
      continue;
    }
    const hostName = privateModelName(model.sha256, model.name);
    rewritten[use.nodeId]!.inputs[use.input] = hostName;
    refs.set(`${model.folder}/${hostName}`, { folder: model.folder, name: hostName, sha256: model.sha256, size: blob.size });
  }
  if (problems.length > 0) {
    throw new ProblemError("unknown-model", `${problems[0]!.pointer}: ${problems[0]!.detail}.`, { extensions: { errors: problems.slice(0, 50) } });
  }
  return { workflow: rewritten, refs: [...refs.values()].sort((a, b) => (a.folder + a.name < b.folder + b.name ? -1 : 1)) };
}
