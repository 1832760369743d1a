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
  return [`uploads/${tenantId}/`, `jobs/${tenantId}/`];
}

/** A host catalog's canonical document, by its hash (src/protocol/catalog.ts); the hash is checked first. */
export function catalogKey(hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error("catalog keys are SHA-256 hex");
  return `catalogs/${hash}.json`;
}
