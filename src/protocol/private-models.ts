/**
 * Where tenants' private model files live on a GPU host: `<folder>/_t/<sha256><ext>` (e.g.
 * `loras/_t/3f…9a.safetensors`). Workflows never name these directly: a tenant writes
 * `tenant:<name>` and the edge rewrites it (src/models/tenant-refs.ts); a value under `_t/` in a
 * submitted workflow is refused, so no tenant can reach another's file, by any name. The names
 * are content-addressed, so two tenants with identical bytes share one cached file on a host
 * without learning anything of each other. They are kept out of anything shown to tenants (the
 * choices a pre-flight error lists) and out of the model inventory hosts publish.
 */
export const PRIVATE_DIR = "_t";

export function isPrivateModelName(name: string): boolean {
  return name.split("/")[0] === PRIVATE_DIR;
}

export function privateModelName(sha256: string, originalName: string): string {
  const ext = /\.[A-Za-z0-9]{1,12}$/.exec(originalName)?.[0]?.toLowerCase() ?? "";
  return `${PRIVATE_DIR}/${sha256}${ext}`;
}
