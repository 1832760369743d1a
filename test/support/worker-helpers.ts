// Helpers for tests inside workerd: call the real Worker and set up tenants, keys and jobs through
// the public and admin APIs, the way a client would.
import { env, exports } from "cloudflare:workers";

export const ADMIN_TOKEN = env.ADMIN_TOKEN as string;
export const BASE = "https://api.test";

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(new URL(path, BASE), init));
}

export function json(body: unknown, headers: Record<string, string> = {}): RequestInit & { headers: Record<string, string> } {
  return { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...headers } };
}

export function adminCall(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${ADMIN_TOKEN}`);
  return call(path, { ...init, headers });
}

export interface TestTenant {
  id: string;
  webhookSecret: string;
  key: string;
  keyId: string;
}

export async function createTenant(body: Record<string, unknown> = {}): Promise<TestTenant> {
  const res = await adminCall("/v1/admin/tenants", json({ name: `t-${crypto.randomUUID()}`, ...body }));
  if (res.status !== 201) throw new Error(`tenant create: ${res.status} ${await res.text()}`);
  const tenant = (await res.json()) as { id: string; webhook_secret: string };
  const { id: keyId, key } = await createKey(tenant.id);
  return { id: tenant.id, webhookSecret: tenant.webhook_secret, key, keyId };
}

export async function createKey(tenantId: string): Promise<{ id: string; key: string }> {
  const res = await adminCall(`/v1/admin/tenants/${tenantId}/keys`, { method: "POST" });
  if (res.status !== 201) throw new Error(`key create: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; key: string };
}

export function userHeaders(key: string, user: string): Record<string, string> {
  return { Authorization: `Bearer ${key}`, "X-User-ID": user };
}

export const WORKFLOW = {
  "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "test" } },
};

export interface JobBody {
  id: string;
  status: string;
  user_id: string;
  created_at: string;
  [k: string]: unknown;
}

export async function submit(key: string, user: string, body: Record<string, unknown> = { workflow: WORKFLOW }): Promise<Response> {
  return call("/v1/jobs", json(body, userHeaders(key, user)));
}

export async function submitOk(key: string, user: string): Promise<JobBody> {
  const res = await submit(key, user);
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobBody;
}

export async function expectProblem(res: Response, status: number, slug: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status} ${slug}, got ${res.status}: ${text}`);
  if (!res.headers.get("Content-Type")?.startsWith("application/problem+json")) throw new Error(`not problem+json: ${res.headers.get("Content-Type")}`);
  const body = JSON.parse(text) as Record<string, unknown>;
  if (body.type !== `https://comfyui-saas.dev/problems/${slug}`) throw new Error(`expected type ${slug}, got ${String(body.type)}: ${text}`);
  if (body.status !== status || typeof body.detail !== "string" || body.detail === "") throw new Error(`bad problem body: ${text}`);
  return body;
}

/** The signed URL with the first character of its MAC (after the key id) changed (always to a different one). */
export function tamperSignature(url: string): string {
  return url.replace(/(signature=[A-Za-z0-9_-]+\.)(.)/, (_m, head: string, c: string) => `${head}${c === "A" ? "B" : "A"}`);
}

/** SQLite's plan for a drizzle query, its steps joined by " | " (tests assert which index it uses). */
export async function queryPlan(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string> {
  const { sql, params } = query.toSQL();
  const rows = (
    await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .bind(...params)
      .all<{ detail: string }>()
  ).results;
  return rows.map((r) => r.detail).join(" | ");
}

/** The statuses the OpenAPI document the Worker serves lists for an operation (clients are generated from it). */
export async function documentedStatuses(method: string, template: string): Promise<number[]> {
  const doc = (await (await call("/openapi.json")).json()) as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };
  return Object.keys(doc.paths[template]?.[method.toLowerCase()]?.responses ?? {}).map(Number);
}
