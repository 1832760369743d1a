// POST /v1/uploads is bounded before anything parses it (413 once the cap plus at most one chunk
// has been read, for a raw image and for multipart alike), and each tenant's uploads are counted
// against a 24 h quota of uploads and bytes (429 with RateLimit headers), overridable per tenant.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { SMALL_PNG } from "../support/ssrf-images.ts";
import { adminCall, call, createTenant, documentedStatuses, expectProblem, json, type TestTenant, userHeaders } from "../support/worker-helpers.ts";

const CHUNK = 64 * 1024;
const CAP = 1_048_576;
const MULTIPART_OVERHEAD = 64 * 1024;

/** A lazily produced body of `total` bytes that counts what the reader actually pulled. */
function countingBody(total: number, first: Uint8Array = new Uint8Array(0)): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= total) return controller.close();
        const chunk = sent === 0 && first.length > 0 ? first : new Uint8Array(Math.min(CHUNK, total - sent));
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => sent };
}

describe("the upload body is capped while it streams", () => {
  it.for([
    ["a raw image body", "image/png"],
    ["a multipart body", "multipart/form-data; boundary=----x"],
  ] as const)("%s of 200 MB without Content-Length is refused with 413 after the cap plus one chunk", async ([, type], { expect }) => {
    const t = await createTenant();
    const { stream, pulled } = countingBody(
      200 * 1_048_576,
      type.startsWith("multipart") ? new TextEncoder().encode('------x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n') : SMALL_PNG,
    );
    // The app inside this test, with a small cap, so the test reads 1 MB rather than 20.
    const res = await createApp().request(
      "https://api.test/v1/uploads",
      { method: "POST", body: stream, headers: { ...userHeaders(t.key, "u"), "Content-Type": type }, duplex: "half" } as RequestInit,
      { ...env, IMAGE_INPUT_MAX_BYTES: String(CAP) },
    );
    const body = await expectProblem(res, 413, "payload-too-large");
    expect(body.max_bytes).toBe(CAP);
    expect(pulled()).toBeLessThanOrEqual(CAP + MULTIPART_OVERHEAD + 2 * CHUNK);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM uploads WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  // What workerd does when the client's connection goes while the edge stops reading: the
  // cancel fails, or the read itself does. Either must stay the client's 4xx, never a 500.
  it.for([
    ["its cancel fails", "cancel"],
    ["a read fails", "read"],
  ] as const)("an oversized body whose stream breaks (%s) is still a 4xx", async ([, how]) => {
    const t = await createTenant();
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (how === "read" && sent > CAP / 2) return controller.error(new Error("disconnected: pump canceled"));
          sent += CHUNK;
          controller.enqueue(sent === CHUNK ? SMALL_PNG : new Uint8Array(CHUNK));
        },
        cancel() {
          throw new Error("disconnected: pump canceled");
        },
      },
      { highWaterMark: 0 },
    );
    const res = await createApp().request(
      "https://api.test/v1/uploads",
      { method: "POST", body: stream, headers: { ...userHeaders(t.key, "u"), "Content-Type": "image/png" }, duplex: "half" } as RequestInit,
      { ...env, IMAGE_INPUT_MAX_BYTES: String(CAP) },
    );
    if (how === "cancel") await expectProblem(res, 413, "payload-too-large");
    else await expectProblem(res, 422, "validation-failed");
  });

  it("refuses a declared Content-Length over the cap before reading anything", async ({ expect }) => {
    const t = await createTenant();
    const { stream, pulled } = countingBody(10 * CHUNK);
    const res = await createApp().request(
      "https://api.test/v1/uploads",
      {
        method: "POST",
        body: stream,
        headers: { ...userHeaders(t.key, "u"), "Content-Type": "image/png", "Content-Length": String(500 * 1_048_576) },
        duplex: "half",
      } as RequestInit,
      { ...env, IMAGE_INPUT_MAX_BYTES: String(CAP) },
    );
    await expectProblem(res, 413, "payload-too-large");
    expect(pulled()).toBeLessThanOrEqual(CHUNK);
  });

  it("authenticates before reading a byte of the body", async ({ expect }) => {
    const { stream, pulled } = countingBody(10 * CHUNK);
    const res = await createApp().request(
      "https://api.test/v1/uploads",
      { method: "POST", body: stream, headers: { "Content-Type": "image/png" }, duplex: "half" } as RequestInit,
      env,
    );
    await expectProblem(res, 401, "unauthenticated");
    expect(pulled()).toBeLessThanOrEqual(CHUNK);
  });
});

const upload = (t: TestTenant, user = "u") =>
  call("/v1/uploads", { method: "POST", body: SMALL_PNG, headers: { ...userHeaders(t.key, user), "Content-Type": "image/png" } });

describe("the per-tenant upload quota", () => {
  it("allows uploads_per_day in 24 h, then 429 uploads-per-day with Retry-After and RateLimit headers", async ({ expect }) => {
    const t = await createTenant({ limits: { uploads_per_day: 2 } });
    const first = await upload(t);
    expect(first.status).toBe(201);
    expect(first.headers.get("RateLimit-Policy")).toContain('"uploads-per-day";q=2;w=86400');
    expect(first.headers.get("RateLimit")).toContain('"uploads-per-day";r=1;');
    expect((await upload(t, "another-user")).status).toBe(201);
    const refused = await upload(t);
    const body = await expectProblem(refused, 429, "uploads-per-day");
    expect(body).toMatchObject({ limit: 2, current: 2, "violated-policies": ["uploads-per-day"] });
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(86_000);
    expect(refused.headers.get("RateLimit")).toContain('"uploads-per-day";r=0;');
    // The OpenAPI document lists it (it did not: clients generated from it knew no 429 here).
    expect(await documentedStatuses("POST", "/v1/uploads")).toContain(429);
    // Another tenant has its own quota.
    expect((await upload(await createTenant({ limits: { uploads_per_day: 2 } }))).status).toBe(201);
  });

  it("counts bytes too: an upload that would pass upload_bytes_per_day is a 429, and nothing is stored", async ({ expect }) => {
    const t = await createTenant({ limits: { upload_bytes_per_day: SMALL_PNG.length * 2 - 1 } });
    expect((await upload(t)).status).toBe(201);
    await expectProblem(await upload(t), 429, "upload-bytes-per-day");
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM uploads WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(stored?.n).toBe(1);
  });

  it("is a default from config an operator can override per tenant, and reset with null", async ({ expect }) => {
    const t = await createTenant();
    const view = (await (await adminCall(`/v1/admin/tenants/${t.id}`)).json()) as {
      limits: Record<string, number>;
      limit_overrides: Record<string, number | null>;
    };
    expect(view.limits).toMatchObject({ uploads_per_day: 2_000, upload_bytes_per_day: 4_294_967_296 });
    expect(view.limit_overrides).toMatchObject({ uploads_per_day: null, upload_bytes_per_day: null });
    const patched = await adminCall(`/v1/admin/tenants/${t.id}`, { ...json({ limits: { uploads_per_day: 1 } }), method: "PATCH" });
    expect(((await patched.json()) as { limits: Record<string, number> }).limits.uploads_per_day).toBe(1);
    expect((await upload(t)).status).toBe(201);
    await expectProblem(await upload(t), 429, "uploads-per-day");
    await adminCall(`/v1/admin/tenants/${t.id}`, { ...json({ limits: { uploads_per_day: null } }), method: "PATCH" });
    expect((await upload(t)).status).toBe(201);
  });
});
