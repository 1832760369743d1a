// Bad input of every kind is a 4xx problem+json with a detail a person can act on; none is a 5xx,
// and none writes anything.
import { env } from "cloudflare:workers";
import { beforeAll, describe, it } from "vitest";
import { call, createTenant, type TestTenant, WORKFLOW } from "../support/worker-helpers.ts";

let t: TestTenant;
const auth = () => ({ Authorization: `Bearer ${t.key}`, "X-User-ID": "malformed-user" });
const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  call("/v1/jobs", { method: "POST", body, headers: { ...auth(), "Content-Type": "application/json", ...headers } });
const postJson = (value: unknown) => post(JSON.stringify(value));
const ui = { last_node_id: 9, last_link_id: 9, nodes: [{ id: 1, type: "SaveImage" }], links: [], version: 0.4 };
const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });

interface Case {
  name: string;
  send: () => Promise<Response>;
  status: number;
  slug: string;
  pointer?: string;
}

const cases: Case[] = [
  { name: "not JSON at all", send: () => post("workflow=1"), status: 400, slug: "malformed-json" },
  { name: "truncated JSON", send: () => post('{"workflow": {'), status: 400, slug: "malformed-json" },
  { name: "trailing garbage", send: () => post('{"workflow": {}} x'), status: 400, slug: "malformed-json" },
  { name: "empty body", send: () => post(""), status: 422, slug: "validation-failed", pointer: "/workflow" },
  { name: "JSON null", send: () => postJson(null), status: 422, slug: "validation-failed" },
  { name: "JSON array", send: () => postJson([WORKFLOW]), status: 422, slug: "validation-failed" },
  { name: "JSON string", send: () => postJson("hello"), status: 422, slug: "validation-failed" },
  { name: "missing workflow", send: () => postJson({}), status: 422, slug: "validation-failed", pointer: "/workflow" },
  { name: "misspelled field", send: () => postJson({ workflow: WORKFLOW, wbhook: {} }), status: 422, slug: "validation-failed" },
  { name: "workflow is a string", send: () => postJson({ workflow: JSON.stringify(WORKFLOW) }), status: 422, slug: "validation-failed", pointer: "/workflow" },
  { name: "workflow is an array", send: () => postJson({ workflow: [WORKFLOW] }), status: 422, slug: "validation-failed", pointer: "/workflow" },
  { name: "empty workflow", send: () => postJson({ workflow: {} }), status: 422, slug: "invalid-workflow", pointer: "/workflow" },
  { name: "UI-format workflow", send: () => postJson({ workflow: ui }), status: 422, slug: "invalid-workflow", pointer: "/workflow/nodes" },
  {
    name: "node without class_type",
    send: () => postJson({ workflow: { "1": { inputs: {} } } }),
    status: 422,
    slug: "invalid-workflow",
    pointer: "/workflow/1/class_type",
  },
  {
    name: "node without inputs",
    send: () => postJson({ workflow: { "1": { class_type: "SaveImage" } } }),
    status: 422,
    slug: "invalid-workflow",
    pointer: "/workflow/1/inputs",
  },
  { name: "node is a number", send: () => postJson({ workflow: { "1": 5 } }), status: 422, slug: "invalid-workflow", pointer: "/workflow/1" },
  { name: "class_type empty", send: () => postJson({ workflow: { "1": { class_type: "", inputs: {} } } }), status: 422, slug: "invalid-workflow" },
  {
    name: "link to a missing node",
    send: () => postJson({ workflow: { "2": { class_type: "SaveImage", inputs: { images: ["9", 0] } } } }),
    status: 422,
    slug: "invalid-workflow",
    pointer: "/workflow/2/inputs/images",
  },
  {
    name: "link with a numeric node id",
    send: () => postJson({ workflow: { "1": { class_type: "EmptyImage", inputs: {} }, "2": { class_type: "SaveImage", inputs: { images: [1, 0] } } } }),
    status: 422,
    slug: "invalid-workflow",
    pointer: "/workflow/2/inputs/images",
  },
  {
    name: "link with a negative slot",
    send: () => postJson({ workflow: { "1": { class_type: "EmptyImage", inputs: {} }, "2": { class_type: "SaveImage", inputs: { images: ["1", -1] } } } }),
    status: 422,
    slug: "invalid-workflow",
  },
  {
    name: "a list constant not wrapped",
    send: () => postJson({ workflow: { "1": { class_type: "X", inputs: { sizes: [1, 2, 3] } } } }),
    status: 422,
    slug: "invalid-workflow",
    pointer: "/workflow/1/inputs/sizes",
  },
  {
    name: "a cycle",
    send: () => postJson({ workflow: { "1": { class_type: "A", inputs: { x: ["2", 0] } }, "2": { class_type: "B", inputs: { x: ["1", 0] } } } }),
    status: 422,
    slug: "invalid-workflow",
  },
  {
    name: "node id with spaces",
    send: () => postJson({ workflow: { "a b": { class_type: "SaveImage", inputs: {} } } }),
    status: 422,
    slug: "invalid-workflow",
  },
  {
    name: "too many nodes",
    send: () => postJson({ workflow: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [String(i), { class_type: "X", inputs: {} }])) }),
    status: 422,
    slug: "invalid-workflow",
  },
  {
    name: "webhook not a URL",
    send: () => postJson({ workflow: WORKFLOW, webhook: { url: "not a url" } }),
    status: 422,
    slug: "validation-failed",
    pointer: "/webhook/url",
  },
  { name: "webhook ftp URL", send: () => postJson({ workflow: WORKFLOW, webhook: { url: "ftp://example.com/x" } }), status: 422, slug: "validation-failed" },
  {
    name: "webhook unknown event",
    send: () => postJson({ workflow: WORKFLOW, webhook: { url: "https://e.com", events: ["job.exploded"] } }),
    status: 422,
    slug: "validation-failed",
  },
  { name: "metadata is an array", send: () => postJson({ workflow: WORKFLOW, metadata: [1] }), status: 422, slug: "validation-failed", pointer: "/metadata" },
  { name: "metadata too big", send: () => postJson({ workflow: WORKFLOW, metadata: { blob: "x".repeat(9000) } }), status: 422, slug: "validation-failed" },
  { name: "body over the size cap", send: () => postJson({ workflow: WORKFLOW, pad: "x".repeat(10_500_000) }), status: 413, slug: "payload-too-large" },
  {
    name: "Content-Length larger than the cap",
    send: () => call("/v1/jobs", { method: "POST", body: "{}", headers: { ...auth(), "Content-Type": "application/json", "Content-Length": "99999999" } }),
    status: 413,
    slug: "payload-too-large",
  },
  {
    name: "text/plain content type",
    send: () => post(JSON.stringify({ workflow: WORKFLOW }), { "Content-Type": "text/plain" }),
    status: 415,
    slug: "unsupported-media-type",
  },
  {
    name: "form content type",
    send: () => post("workflow=x", { "Content-Type": "application/x-www-form-urlencoded" }),
    status: 415,
    slug: "unsupported-media-type",
  },
  {
    name: "no content type",
    send: () => call("/v1/jobs", { method: "POST", body: JSON.stringify({ workflow: WORKFLOW }), headers: auth() }),
    status: 415,
    slug: "unsupported-media-type",
  },
  { name: "deeply nested metadata", send: () => postJson({ workflow: WORKFLOW, metadata: { d: deep(2000) } }), status: 400, slug: "json-too-deep" },
  { name: "limit=0", send: () => call("/v1/jobs?limit=0", { headers: auth() }), status: 400, slug: "invalid-query", pointer: "/limit" },
  { name: "limit=1000", send: () => call("/v1/jobs?limit=1000", { headers: auth() }), status: 400, slug: "invalid-query" },
  { name: "limit=abc", send: () => call("/v1/jobs?limit=abc", { headers: auth() }), status: 400, slug: "invalid-query" },
  { name: "unknown status filter", send: () => call("/v1/jobs?status=exploded", { headers: auth() }), status: 400, slug: "invalid-query", pointer: "/status" },
  { name: "unknown query parameter", send: () => call("/v1/jobs?sort=asc", { headers: auth() }), status: 400, slug: "invalid-query" },
  { name: "garbage cursor", send: () => call("/v1/jobs?cursor=%F0%9F%92%A9", { headers: auth() }), status: 400, slug: "invalid-cursor" },
  { name: "over-long job id", send: () => call(`/v1/jobs/${"x".repeat(200)}`, { headers: auth() }), status: 400, slug: "invalid-query" },
  { name: "PUT on jobs", send: () => call("/v1/jobs", { method: "PUT", headers: auth() }), status: 405, slug: "method-not-allowed" },
  { name: "unknown route", send: () => call("/v1/jobz", { headers: auth() }), status: 404, slug: "not-found" },
];

describe("malformed requests", () => {
  beforeAll(async () => {
    t = await createTenant();
  });

  it("covers at least 30 cases", ({ expect }) => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)("$name → $status $slug", async ({ send, status, slug, pointer }) => {
    const res = await send();
    const text = await res.text();
    if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text.slice(0, 300)}`);
    if (!res.headers.get("Content-Type")?.startsWith("application/problem+json")) throw new Error(`content type ${res.headers.get("Content-Type")}`);
    if (!res.headers.get("X-Request-ID")) throw new Error("no X-Request-ID");
    const body = JSON.parse(text) as { type: string; status: number; detail: string; errors?: { pointer: string }[] };
    if (body.type !== `https://comfyui-saas.dev/problems/${slug}`) throw new Error(`type ${body.type}: ${text.slice(0, 300)}`);
    if (body.status !== status || body.detail.length < 10) throw new Error(`weak problem: ${text.slice(0, 300)}`);
    if (pointer && !body.errors?.some((e) => e.pointer === pointer)) throw new Error(`no error at ${pointer}: ${text.slice(0, 400)}`);
  });

  it("wrote nothing for any of them", async ({ expect }) => {
    const row = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(row?.n).toBe(0);
  });
});
