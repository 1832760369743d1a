/**
 * The layout of the R2 bucket, in one place. Every key starts with the tenant, so a tenant's data
 * can be listed and deleted by prefix (retention, tenant deletion), and no key is ever built from
 * a value a client or a GPU host chose without a fixed prefix in front of it.
 *
 *   uploads/<tenant>/<upload id>                          POST /v1/uploads
 *   jobs/<tenant>/<job>/inputs/<input id>                 a job's fetched or data: inputs
 *   jobs/<tenant>/<job>/a<attempt>/outputs/<output name>  what a host uploaded for an attempt
 *   catalogs/<sha256>.json                                a host catalog (not tenant data): content-
 *                                                         addressed, one copy for identical hosts
 *   models/sha256/<sha256>                                a model file of the operators' registry
 *   tenant-models/<tenant>/sha256/<sha256>                a tenant's private model file
 */

export function uploadKey(tenantId: string, uploadId: string): string {
  return `uploads/${tenantId}/${uploadId}`;
}

export function jobInputKey(tenantId: string, jobId: string, inputId: string): string {
  return `jobs/${tenantId}/${jobId}/inputs/${inputId}`;
}

export function jobOutputKey(tenantId: string, jobId: string, attempt: number, name: string): string {
  return `jobs/${tenantId}/${jobId}/a${attempt}/outputs/${name}`;
}

/** Everything stored for one tenant (uploads and jobs): the prefixes to list for deletion. */
export function tenantPrefixes(tenantId: string): string[] {
  return [`uploads/${tenantId}/`, `jobs/${tenantId}/`, `tenant-models/${tenantId}/`];
}

/** The scope of the operators' model registry; any other scope is a tenant id. */
export const SHARED_MODELS = "shared";

/**
 * A model file's bytes, by scope and SHA-256: one copy per scope, never shared across tenants
 * (so no tenant can learn whether another has a file).
 */
export function modelBlobKey(scope: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error("model blob keys are SHA-256 hex");
  if (scope === SHARED_MODELS) return `models/sha256/${sha256}`;
  if (!/^ten_[a-z2-7]+$/.test(scope)) throw new Error("a model scope is 'shared' or a tenant id");
  return `tenant-models/${scope}/sha256/${sha256}`;
}

/** A host catalog's canonical document, by its hash (src/protocol/catalog.ts); the hash is checked first. */
export function catalogKey(hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error("catalog keys are SHA-256 hex");
  return `catalogs/${hash}.json`;
}
