// Public service routes: health (with a failing database), the OpenAPI document and the docs page.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import clientDocument from "../../packages/client/openapi.json";
import { createApp, renderOpenApiDocument } from "../../src/app.ts";
import { adminCall, call, documentedStatuses, expectProblem } from "../support/worker-helpers.ts";
import { heartbeat, registerHost } from "../support/worker-hosts.ts";

describe("health", () => {
  it("is 503 naming the reason while no GPU host is live, 200 once one heartbeats", async ({ expect }) => {
    const before = await adminCall("/health");
    expect(before.status).toBe(503);
    expect(before.headers.get("Cache-Control")).toBe("no-store");
    const down = (await before.json()) as any;
    expect(down).toMatchObject({
      status: "down",
      reasons: ["no GPU host is ready to run jobs"],
      components: { edge: { status: "ok" }, database: { status: "ok" }, pools: { default: { status: "down" } } },
    });
    expect(down.components.pools.default.detail).toMatch(/no GPU host/);

    const host = await registerHost();
    expect((await heartbeat(host)).status).toBe(200);
    const after = await adminCall("/health");
    expect(after.status).toBe(200);
    const up = (await after.json()) as any;
    expect(up.components.database.latency_ms).toBeGreaterThanOrEqual(0);
    expect(up.components.pools.default).toMatchObject({ status: "ok", hosts: 1, live_hosts: 1, free_slots: 2, queue_depth: 0, running: 0 });

    // Draining the only host takes the pool down again.
    await adminCall(`/v1/admin/hosts/${host.id}/drain`, { method: "POST" });
    expect((await call("/health")).status).toBe(503);
    await adminCall(`/v1/admin/hosts/${host.id}/resume`, { method: "POST" });
    expect((await call("/health")).status).toBe(200);
    await adminCall(`/v1/admin/hosts/${host.id}`, { method: "DELETE" });
  });

  it("tells the public only the status and general reasons; pools and hosts need the admin token", async ({ expect }) => {
    const res = await call("/health");
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(res.status === 200 ? ["status"] : ["reasons", "status"]);
    const wrongToken = (await (await call("/health", { headers: { Authorization: "Bearer not-the-admin-token-0123456789abcdef" } })).json()) as Record<
      string,
      unknown
    >;
    expect(wrongToken.components).toBeUndefined();
    const admin = (await (await adminCall("/health")).json()) as Record<string, unknown>;
    expect(admin.components).toMatchObject({ edge: { status: "ok" }, database: { status: "ok" } });
  });

  it("computes the public answer at most once per HEALTH_CACHE_SECONDS; the admin view is always fresh", async ({ expect }) => {
    const app = createApp();
    const get = (ttl: string, headers: Record<string, string> = {}) => app.request("/health", { headers }, { ...env, HEALTH_CACHE_SECONDS: ttl });
    // A fresh measurement (ttl 0), then served from the cache while the pool changes underneath.
    expect((await get("0")).status).toBe(503);
    const host = await registerHost();
    expect((await heartbeat(host)).status).toBe(200);
    expect((await get("60")).status).toBe(503);
    const fresh = await get("60", { Authorization: `Bearer ${env.ADMIN_TOKEN}` });
    expect(fresh.status).toBe(200);
    expect((await get("0")).status).toBe(200);
    await adminCall(`/v1/admin/hosts/${host.id}`, { method: "DELETE" });
  });

  it("answers a Content-Length that is no number with the 413 problem the OpenAPI document lists (fuzzing found it unlisted)", async ({ expect }) => {
    await expectProblem(await call("/health", { headers: { "Content-Length": "abc" } }), 413, "payload-too-large");
    expect(await documentedStatuses("GET", "/health")).toContain(413);
  });

  it("is 503 with the reason when D1 fails", async ({ expect }) => {
    const down = {
      prepare: () => ({
        first: async () => {
          throw new Error("D1_ERROR: database unavailable");
        },
      }),
    };
    const original = console.warn;
    console.warn = () => {};
    try {
      const res = await createApp().request("/health", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }, { ...env, DB: down });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: "down", components: { database: { status: "down", detail: "D1_ERROR: database unavailable" } } });
    } finally {
      console.warn = original;
    }
  });
});

describe("OpenAPI", () => {
  it("publishes an OpenAPI 3.1 document generated from the validating schemas", async ({ expect }) => {
    const doc = (await (await call("/openapi.json")).json()) as any;
    expect(doc.openapi).toBe("3.1.0");
    // Every public route is documented, and nothing else: the internal host API, the
    // documentation routes themselves and the console's pages are the only exceptions.
    const routes = createApp()
      .routes.filter(
        (r) =>
          r.method !== "ALL" && !r.path.startsWith("/v1/hosts/") && r.path !== "/openapi.json" && !r.path.startsWith("/docs") && !r.path.startsWith("/console"),
      )
      .map((r) => r.path.replace(/:([A-Za-z_]+)/g, "{$1}"));
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(routes)].sort());
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/outputs/{name}", "/v1/uploads", "/v1/usage", "/v1/admin/hosts"]),
    );
    expect(Object.keys(doc.paths["/v1/jobs/{id}"]).sort()).toEqual(["delete", "get"]);
    const submit = doc.paths["/v1/jobs"].post;
    expect(submit.requestBody.content["application/json"].schema.$ref).toBe("#/components/schemas/SubmitJob");
    expect(doc.components.schemas.SubmitJob.required).toContain("workflow");
    expect(doc.components.schemas.Job.properties.status.enum).toEqual(["queued", "running", "succeeded", "failed", "cancelled"]);
    expect(Object.keys(submit.responses)).toEqual(expect.arrayContaining(["202", "401", "422"]));
    expect(doc.components.securitySchemes).toHaveProperty("adminToken");
    // The event stream: its media type, the Prefer header, and a data schema per event.
    const events = doc.paths["/v1/jobs/{id}/events"].get;
    expect(Object.keys(events.responses["200"].content)).toEqual(["text/event-stream"]);
    expect(events.description).toContain("`job.progress` (JobProgressEvent)");
    for (const name of [
      "JobQueuedEvent",
      "JobPositionEvent",
      "JobRunningEvent",
      "JobProgressEvent",
      "JobPreviewEvent",
      "JobOutputEvent",
      "JobSucceededEvent",
    ]) {
      expect(doc.components.schemas).toHaveProperty(name);
    }
    expect(doc.components.schemas.JobProgressEvent.properties.percent).toBeDefined();
    expect(doc.paths["/v1/jobs/{id}"].get.parameters.map((p: { name: string }) => p.name)).toContain("Prefer");
    // The client's types are generated from a copy of this document: it must be this one.
    if (JSON.stringify(clientDocument) !== JSON.stringify(JSON.parse(renderOpenApiDocument())) || JSON.stringify(doc) !== JSON.stringify(clientDocument)) {
      throw new Error("packages/client/openapi.json is not the Worker's OpenAPI document: run npm run client:gen and commit it");
    }
  });

  it("serves a docs page that loads nothing from anywhere else", async ({ expect }) => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('data-url="/openapi.json"');
    // Every URL in the page is the API's own; the CSP allows nothing else to load.
    expect(html.match(/(?:src|href)="([^"]+)"/g) ?? []).toEqual(['src="/docs/api-reference.js"']);
    expect(html).not.toMatch(/https?:\/\//);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    // The script is the pinned npm bundle from the Worker's static assets.
    const script = await call("/docs/api-reference.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("Content-Type")).toMatch(/javascript/);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  it("serves the console's page at each of its routes, under a CSP that allows no inline code", async ({ expect }) => {
    for (const path of ["/console", "/console/", "/console/submit", "/console/jobs/job_x"]) {
      const res = await call(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("Content-Type")).toMatch(/text\/html/);
      expect(res.headers.get("Cache-Control")).toBe("no-cache");
      const csp = res.headers.get("Content-Security-Policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).toContain("style-src 'self';");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe|https?:|\*/);
      const html = await res.text();
      expect(html).not.toMatch(/https?:\/\//);
      // Its scripts and styles are the console's own, built files.
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(refs.length).toBeGreaterThanOrEqual(2);
      for (const ref of refs) expect(ref).toMatch(/^\/console\/assets\/[\w-]+\.(?:js|css)$/);
    }
    const html = await (await call("/console")).text();
    const script = /src="([^"]+\.js)"/.exec(html)![1]!;
    const js = await call(script);
    expect(js.status).toBe(200);
    expect(js.headers.get("Content-Type")).toMatch(/javascript/);
    expect(js.headers.get("Cache-Control")).toContain("immutable");
    expect(js.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    const missing = await call("/console/assets/no-such-file.js");
    expect(missing.status).toBe(404);
  });
});
