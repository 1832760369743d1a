// Outputs are served safely whatever a GPU host uploads: each is stored (D1 row, R2 metadata, job
// view) and served as the type its bytes are, never the type the host declared; anything off the
// allow-list is an application/octet-stream attachment; every answer of the download route carries
// CSP sandbox and nosniff; with OUTPUTS_BASE_URL the signed URLs (job views, webhooks) point at
// that separate origin. The host here is played as gpu-backend does (signed, fenced uploads).
import { env } from "cloudflare:workers";
import { describe, type ExpectStatic, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createDb } from "../../src/db/client.ts";
import { getJob as getJobRow } from "../../src/db/jobs.ts";
import { createLogger } from "../../src/lib/log.ts";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import { signHostManifest } from "../../src/protocol/host-signing.ts";
import type { DispatchRequest } from "../../src/protocol/messages.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { buildPayload } from "../../src/webhooks/payload.ts";
import { messagesOf } from "../../src/webhooks/store.ts";
import { ELF, FLAC, HTML_PAGE, JSON_TEXT, MKV, MP3_ID3, MP4_ISOM, OGG_OPUS, PDF, PLAIN_TEXT, SVG_SCRIPT, WAV, WEBM } from "../support/output-samples.ts";
import { concat, makePng, PNG_SIGNATURE, PYTHON_GIF, PYTHON_JPEG, PYTHON_WEBP } from "../support/ssrf-images.ts";
import { type Json, receiver, submitWithWebhook, workerEnv } from "../support/webhook-worker.ts";
import { BASE, call, createTenant, expectProblem, submitOk, type TestTenant, tamperSignature, userHeaders } from "../support/worker-helpers.ts";
import { eventFor, outputDescriptor, sendEvent, type TestHost, uploadOutput, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();

const CSP = "default-src 'none'; sandbox";
const OUTPUTS_ORIGIN = "https://files.example.test";

interface Upload {
  name: string;
  bytes: Uint8Array;
  declared: string;
}

function expect2xx(res: Response, what: string): void {
  if (res.status >= 300) throw new Error(`${what} answered ${res.status}`);
}

/** Finishes a dispatched job with these outputs, uploaded as a (lying) host would. */
async function succeedWith(host: TestHost, d: DispatchRequest, uploads: Upload[]): Promise<void> {
  const descriptors = [];
  for (const u of uploads) {
    expect2xx(await uploadOutput(host, d, u.name, u.bytes, u.declared), `upload ${u.name}`);
    descriptors.push(outputDescriptor(u.name, u.bytes, toHex(await sha256(u.bytes))));
  }
  expect2xx(await sendEvent(host, eventFor(host, d, "job.succeeded", { outputs: descriptors })), "job.succeeded");
}

/** A tenant's job that succeeded with `uploads`, and its view. */
async function jobWith(uploads: Upload[], user = "alice"): Promise<{ t: TestTenant; id: string; view: Json }> {
  const t = await createTenant();
  const host = await liveHost();
  const job = await submitOk(t.key, user);
  const [d] = await waitForDispatches(host, 1);
  await succeedWith(host, d!, uploads);
  const view = (await (await call(`/v1/jobs/${job.id}`, { headers: userHeaders(t.key, user) })).json()) as Json;
  if (view.status !== "succeeded") throw new Error(`job ${job.id} is ${view.status}`);
  return { t, id: job.id, view };
}

function expectSecurityHeaders(res: Response, expect: ExpectStatic): void {
  expect(res.headers.get("Content-Security-Policy")).toBe(CSP);
  expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
}

describe("allow-listed outputs are stored and served as what their bytes are, not what the host said", () => {
  it.for([
    ["PNG declared text/html", { name: "a.png", bytes: makePng(4, 4), declared: "text/html" }, "image/png"],
    ["a PNG signature followed by HTML (a PNG by its magic)", { name: "b.png", bytes: concat(PNG_SIGNATURE, HTML_PAGE), declared: "text/html" }, "image/png"],
    ["JPEG declared image/svg+xml", { name: "a.jpg", bytes: PYTHON_JPEG, declared: "image/svg+xml" }, "image/jpeg"],
    ["WebP declared application/octet-stream", { name: "a.webp", bytes: PYTHON_WEBP, declared: "application/octet-stream" }, "image/webp"],
    ["GIF declared image/png", { name: "a.gif", bytes: PYTHON_GIF, declared: "image/png" }, "image/gif"],
    ["MP4 declared text/html", { name: "a.mp4", bytes: MP4_ISOM, declared: "text/html" }, "video/mp4"],
    ["WebM declared video/mp4", { name: "a.webm", bytes: WEBM, declared: "video/mp4" }, "video/webm"],
    ["WAV declared audio/x-wav", { name: "a.wav", bytes: WAV, declared: "audio/x-wav" }, "audio/wav"],
    ["MP3 declared application/octet-stream", { name: "a.mp3", bytes: MP3_ID3, declared: "application/octet-stream" }, "audio/mpeg"],
    ["FLAC declared text/html", { name: "a.flac", bytes: FLAC, declared: "text/html" }, "audio/flac"],
    ["Ogg declared audio/opus", { name: "a.opus", bytes: OGG_OPUS, declared: "audio/opus" }, "audio/ogg"],
    ["JSON declared application/json", { name: "a.json", bytes: JSON_TEXT, declared: "application/json" }, "application/json"],
    ["text declared text/html", { name: "a.txt", bytes: PLAIN_TEXT, declared: "text/html" }, "text/plain; charset=utf-8"],
  ] as const)("%s", async ([, upload, type], { expect }) => {
    const { t, id, view } = await jobWith([upload]);
    expect(view.outputs).toEqual([expect.objectContaining({ name: upload.name, content_type: type, size: upload.bytes.length })]);
    const row = await env.DB.prepare("SELECT content_type, r2_key FROM job_outputs WHERE job_id = ?")
      .bind(id)
      .first<{ content_type: string; r2_key: string }>();
    expect(row!.content_type).toBe(type);
    expect((await env.BLOBS.head(row!.r2_key))!.httpMetadata!.contentType).toBe(type);

    for (const res of [await call(`/v1/jobs/${id}/outputs/${upload.name}`, { headers: userHeaders(t.key, "alice") }), await call(view.outputs[0].url)]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe(type);
      expect(res.headers.get("Content-Disposition")).toBe(`inline; filename="${upload.name}"`);
      expectSecurityHeaders(res, expect);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(upload.bytes);
    }
  });
});

describe("disguised and unknown outputs are opaque attachments", () => {
  it.for([
    ["HTML labelled image/png", { name: "cat.png", bytes: HTML_PAGE, declared: "image/png" }],
    ["HTML labelled text/html", { name: "page.html", bytes: HTML_PAGE, declared: "text/html" }],
    ["SVG with script", { name: "logo.svg", bytes: SVG_SCRIPT, declared: "image/svg+xml" }],
    ["PDF", { name: "doc.pdf", bytes: PDF, declared: "application/pdf" }],
    ["an executable labelled image/png", { name: "run.png", bytes: ELF, declared: "image/png" }],
    ["Matroska labelled video/webm", { name: "v.webm", bytes: MKV, declared: "video/webm" }],
    ["unknown bytes labelled video/mp4", { name: "x.mp4", bytes: Uint8Array.from({ length: 512 }, (_, i) => (i * 37 + 11) & 0xff), declared: "video/mp4" }],
  ] as const)("%s", async ([, upload], { expect }) => {
    const { t, id, view } = await jobWith([upload]);
    expect(view.outputs).toEqual([expect.objectContaining({ name: upload.name, content_type: "application/octet-stream" })]);
    const row = await env.DB.prepare("SELECT content_type FROM job_outputs WHERE job_id = ?").bind(id).first<{ content_type: string }>();
    expect(row!.content_type).toBe("application/octet-stream");

    for (const res of [await call(`/v1/jobs/${id}/outputs/${upload.name}`, { headers: userHeaders(t.key, "alice") }), await call(view.outputs[0].url)]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("application/octet-stream");
      expect(res.headers.get("Content-Disposition")).toBe(`attachment; filename="${upload.name}"`);
      expectSecurityHeaders(res, expect);
      // Stored as uploaded: the edge labels the bytes, it does not change them.
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(upload.bytes);
    }
  });
});

describe("every answer of the download route carries the security headers", () => {
  it("on the file (owner and signed URL, GET and HEAD) and on its 400, 401 and 404 problems", async ({ expect }) => {
    const png = makePng(2, 2);
    const { t, id, view } = await jobWith([{ name: "out.png", bytes: png, declared: "image/png" }]);
    const owner = userHeaders(t.key, "alice");
    const url: string = view.outputs[0].url;
    const answers: [string, Response, number][] = [
      ["owner GET", await call(`/v1/jobs/${id}/outputs/out.png`, { headers: owner }), 200],
      ["owner HEAD", await call(`/v1/jobs/${id}/outputs/out.png`, { method: "HEAD", headers: owner }), 200],
      ["signed GET", await call(url), 200],
      ["signed HEAD", await call(url, { method: "HEAD" }), 200],
      ["bad signature", await call(tamperSignature(url)), 401],
      ["no credentials", await call(`/v1/jobs/${id}/outputs/out.png`), 401],
      ["another user", await call(`/v1/jobs/${id}/outputs/out.png`, { headers: userHeaders(t.key, "mallory") }), 404],
      ["no such output", await call(`/v1/jobs/${id}/outputs/nope.png`, { headers: owner }), 404],
      ["unknown query parameter", await call(`/v1/jobs/${id}/outputs/out.png?download=1`, { headers: owner }), 400],
    ];
    for (const [what, res, status] of answers) {
      expect({ what, status: res.status }).toEqual({ what, status });
      expect({ what, csp: res.headers.get("Content-Security-Policy"), nosniff: res.headers.get("X-Content-Type-Options") }).toEqual({
        what,
        csp: CSP,
        nosniff: "nosniff",
      });
      if (status === 200) expect({ what, disposition: res.headers.get("Content-Disposition") }).toEqual({ what, disposition: 'inline; filename="out.png"' });
      await res.arrayBuffer();
    }
    await expectProblem(await call(tamperSignature(url)), 401, "unauthenticated");
  });
});

describe("uploads stream into R2", () => {
  /** Sends `bytes` as a chunked body (no Content-Length) of `chunk`-byte pieces, signed for `signedSize`. */
  async function uploadChunked(
    host: TestHost,
    d: DispatchRequest,
    name: string,
    bytes: Uint8Array,
    chunk: number,
    signedSize = bytes.length,
  ): Promise<Response> {
    const path = edgePaths.output(host.id, d.job_id, name);
    const headers = await signHostManifest([host.secret], {
      job_id: d.job_id,
      attempt: d.attempt,
      lease_id: d.lease_id,
      host_id: host.id,
      method: "PUT",
      path,
      content_type: "application/octet-stream",
      size: signedSize,
      sha256: toHex(await sha256(bytes)),
      node_id: "9",
      kind: "gifs",
    });
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, at + chunk));
        at += chunk;
      },
    });
    return call(path, { method: "PUT", body, headers: { ...headers, "Content-Type": "application/octet-stream" } });
  }

  it("a multi-MiB video in small chunks is sniffed from its head and stored whole; a body off its signed size is a 422", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "alice");
    const [d] = await waitForDispatches(host, 1);

    // workerd logs each aborted put ("fixed-length pipe ended prematurely", and miniflare's R2
    // simulator "Network connection lost"); what matters is the 422 and that nothing is stored.
    const small = concat(MP4_ISOM, new Uint8Array(20_000));
    await expectProblem(await uploadChunked(host, d!, "short.mp4", small, 1000, small.length + 1), 422, "validation-failed");
    await expectProblem(await uploadChunked(host, d!, "long.mp4", small, 1000, small.length - 1), 422, "validation-failed");
    expect((await env.BLOBS.list({ prefix: `jobs/${t.id}/${job.id}/` })).objects).toEqual([]);

    const video = concat(
      MP4_ISOM,
      Uint8Array.from({ length: 3 << 20 }, (_, i) => i & 0xff),
    );
    expect((await uploadChunked(host, d!, "clip.mp4", video, 1000)).status).toBe(201);
    const sha = toHex(await sha256(video));
    expect2xx(await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [outputDescriptor("clip.mp4", video, sha)] })), "job.succeeded");
    const res = await call(`/v1/jobs/${job.id}/outputs/clip.mp4`, { headers: userHeaders(t.key, "alice") });
    expect(res.headers.get("Content-Type")).toBe("video/mp4");
    expect(toHex(await sha256(new Uint8Array(await res.arrayBuffer())))).toBe(sha);
  });
});

describe("OUTPUTS_BASE_URL", () => {
  // The binding is the same for every test in this project; a request served with an env that
  // differs in this one setting is how config.test.ts varies configuration too.
  const filesEnv = { ...env, OUTPUTS_BASE_URL: OUTPUTS_ORIGIN };

  it("puts the signed URLs of job views (one job and the list) on that origin, and they download", async ({ expect }) => {
    const png = makePng(3, 3);
    const { t, id, view } = await jobWith([{ name: "out.png", bytes: png, declared: "image/png" }]);
    // Without it, the API's own origin.
    expect(view.outputs[0].url.startsWith(`${BASE}/v1/jobs/${id}/outputs/out.png?expires=`)).toBe(true);

    const app = createApp();
    const one = (await (await app.request(`${BASE}/v1/jobs/${id}`, { headers: userHeaders(t.key, "alice") }, filesEnv)).json()) as Json;
    const list = (await (await app.request(`${BASE}/v1/jobs?limit=5`, { headers: userHeaders(t.key, "alice") }, filesEnv)).json()) as Json;
    const url: string = one.outputs[0].url;
    expect(url.startsWith(`${OUTPUTS_ORIGIN}/v1/jobs/${id}/outputs/out.png?expires=`)).toBe(true);
    expect(list.data[0].outputs[0].url.startsWith(`${OUTPUTS_ORIGIN}/v1/jobs/${id}/outputs/out.png?expires=`)).toBe(true);

    // The second hostname is routed to the same Worker: the link works there, with the same headers.
    const res = await call(url);
    expect(res.status).toBe(200);
    expectSecurityHeaders(res, expect);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);
  });

  it("serves only output downloads on that hostname: the API answers 404 there", async ({ expect }) => {
    const png = makePng(3, 3);
    const { t, id } = await jobWith([{ name: "out.png", bytes: png, declared: "image/png" }]);
    const app = createApp();
    const url: string = ((await (await app.request(`${BASE}/v1/jobs/${id}`, { headers: userHeaders(t.key, "alice") }, filesEnv)).json()) as Json).outputs[0]
      .url;
    const download = await app.request(url, {}, filesEnv);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(png);
    for (const path of [`/v1/jobs/${id}`, "/v1/jobs", "/health", "/openapi.json", "/v1/admin/tenants"]) {
      const res = await app.request(`${OUTPUTS_ORIGIN}${path}`, { headers: userHeaders(t.key, "alice") }, filesEnv);
      expect(res.status, path).toBe(404);
    }
    // The API's own hostname keeps everything, downloads included.
    expect((await app.request(`${BASE}/v1/jobs/${id}`, { headers: userHeaders(t.key, "alice") }, filesEnv)).status).toBe(200);
  });

  it("puts the signed URLs of webhook payloads on that origin", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const host = await liveHost();
    const job = await submitWithWebhook(t, "alice", { url: ep.url, events: ["job.succeeded"] });
    const [d] = await waitForDispatches(host, 1);
    await succeedWith(host, d!, [{ name: "out.png", bytes: makePng(2, 2), declared: "image/png" }]);

    const db = createDb(env.DB);
    const row = (await getJobRow(db, job.id as string))!;
    const msg = (await messagesOf(db, job.id as string)).find((m) => m.type === "job.succeeded")!;
    const loaded = loadConfig(filesEnv);
    if (!loaded.ok) throw new Error(loaded.problems.join("; "));
    // What WebhookDelivery builds at each attempt (src/webhooks/deliver.ts), under this config.
    const body = await buildPayload(
      { env: workerEnv, config: loaded.config, log: createLogger("error"), baseUrl: row.webhookBaseUrl ?? "" },
      msg,
      row,
      Date.now(),
    );
    const payload = JSON.parse(body) as { data: { job: Json } };
    expect(payload.data.job.outputs[0].url.startsWith(`${OUTPUTS_ORIGIN}/v1/jobs/${job.id as string}/outputs/out.png?expires=`)).toBe(true);
  });
});
