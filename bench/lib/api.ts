// Sets up a tenant and key on a running edge for benchmarks, through the admin API.
import { newEdgeSigningKey } from "../../scripts/lib/edge-key.ts";
export const BENCH_ADMIN_TOKEN = "bench-admin-token-0123456789abcdef0123456789";
export const BENCH_VARS = {
  EDGE_SIGNING_KEY: newEdgeSigningKey("edge-bench"),
  ENVIRONMENT: "development",
  ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
  DATA_ENCRYPTION_KEYS: "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
  OUTPUT_URL_KEYS: "u1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
  LOG_LEVEL: "error",
};

export const WORKFLOW = {
  "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "bench" } },
};

export async function createTenantWithKey(base: string, limits: Record<string, number> = {}): Promise<{ tenantId: string; key: string }> {
  const admin = { Authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "Content-Type": "application/json" };
  const t = await fetch(`${base}/v1/admin/tenants`, { method: "POST", headers: admin, body: JSON.stringify({ name: "bench", limits }) });
  if (t.status !== 201) throw new Error(`tenant: ${t.status} ${await t.text()}`);
  const tenantId = ((await t.json()) as { id: string }).id;
  const k = await fetch(`${base}/v1/admin/tenants/${tenantId}/keys`, { method: "POST", headers: admin });
  if (k.status !== 201) throw new Error(`key: ${k.status} ${await k.text()}`);
  return { tenantId, key: ((await k.json()) as { key: string }).key };
}
