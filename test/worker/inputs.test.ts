// Image inputs: a LoadImage `image` given as a data: URI, a URL (through the SSRF guard) or
// `upload:<id>` is checked by its bytes, stored in R2 and handed to the host by the edge, which
// serves it only to the host holding the job's current lease. Refusals are 422s that say why.
import { env } from "cloudflare:workers";
import { describe, inject, it } from "vitest";
import { signHostManifest } from "../../src/protocol/host-signing.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { makePng, PYTHON_JPEG, SMALL_PNG } from "../support/ssrf-images.ts";
import { call, createTenant, expectProblem, json, type TestTenant, userHeaders } from "../support/worker-helpers.ts";
import { eventFor, sendEvent, type TestHost, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const withImage = (image: string) => ({
  workflow: {
    "1": { class_type: "LoadImage", inputs: { image } },
    "2": { class_type: "ImageInvert", inputs: { image: ["1", 0] } },
    "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "inv" } },
  },
});
const ssrf = (path: string) => `http://127.0.0.1:${inject("ssrfPort")}${path}`;
const submit = (t: TestTenant, user: string, body: unknown) => call("/v1/jobs", json(body, userHeaders(t.key, user)));
const active = async (t: TestTenant, user: string) =>
  ((await (await call("/v1/usage", { headers: userHeaders(t.key, user) })).json()) as { user_active_jobs: number }).user_active_jobs;

async function hostGetInput(host: TestHost, ref: { job_id: string; attempt: number; lease_id: string }, inputId: string) {
  const path = edgePaths.input(host.id, ref.job_id, inputId);
  const headers = await signHostManifest([host.secret], { ...ref, host_id: host.id, method: "GET", path });
  return call(path, { headers });
}

describe("accepted inputs reach the host through the edge", () => {
  it.for([
    ["a data: URI", `data:image/png;base64,${b64(SMALL_PNG)}`, SMALL_PNG, "image/png"],
    ["a URL", ssrf("/img/jpeg"), PYTHON_JPEG, "image/jpeg"],
  ] as const)("%s", async ([, image, bytes, type], { expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const res = await submit(t, "u", withImage(image));
    expect(res.status).toBe(202);
    const job = (await res.json()) as { id: string };
    const [d] = await waitForDispatches(host, 1);
    expect(d!.inputs).toHaveLength(1);
    const input = d!.inputs[0]!;
    expect(input).toMatchObject({ node_id: "1", input_name: "image", content_type: type, size: bytes.length });
    // The stored workflow names the file, not the URL or the data.
    expect((d!.workflow["1"] as { inputs: { image: string } }).inputs.image).toBe(input.filename);

    const got = await hostGetInput(host, d!, input.id);
    expect(got.status).toBe(200);
    expect(got.headers.get("Content-Type")).toBe(type);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    // Only the current lease may read it.
    await expectProblem(await hostGetInput(host, { ...d!, lease_id: "not-the-lease-0000" }, input.id), 409, "stale-lease");
    await sendEvent(host, eventFor(host, d!, "job.cancelled"));
    void job;
  });
});

describe("refused inputs", () => {
  it.for([
    ["a private address", "http://169.254.169.254/latest/meta-data/", 422, "unsafe-source-url", "private-address"],
    ["a non-http scheme", "file:///etc/passwd", 422, "invalid-input", undefined],
    ["an HTML page labelled image/png", ssrf("/lie/html"), 422, "invalid-image-input", "not-an-image"],
    ["an SVG labelled image/png", ssrf("/lie/svg"), 422, "invalid-image-input", "svg"],
    ["a pixel bomb", ssrf("/img/png-huge"), 422, "invalid-image-input", "too-many-pixels"],
    ["a 404", ssrf("/status/404"), 422, "unsafe-source-url", "http-status"],
    ["a redirect to the metadata service", ssrf(`/redirect?to=${encodeURIComponent("http://169.254.169.254/")}`), 422, "unsafe-source-url", "private-address"],
    ["an SVG data: URI", `data:image/svg+xml;base64,${btoa("<svg xmlns='http://www.w3.org/2000/svg'/>")}`, 422, "invalid-image-input", "svg"],
    ["a broken data: URI", "data:image/png;base64,!!!", 422, "invalid-image-input", "bad-data-uri"],
  ] as const)("%s", async ([, image, status, slug, reason], { expect }) => {
    const t = await createTenant();
    const res = await submit(t, "r", withImage(image));
    const body = await expectProblem(res, status, slug);
    expect(body.reason).toBe(reason);
    expect((body.errors as { pointer: string }[])[0]!.pointer).toBe("/workflow/1/inputs/image");
    // Nothing was created and the admission slot came back.
    expect(await active(t, "r")).toBe(0);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });
});

describe("uploads", () => {
  it("stores an image (raw body or multipart) for its owner to use as upload:<id>", async ({ expect }) => {
    const t = await createTenant();
    const png = makePng(40, 30);
    const raw = await call("/v1/uploads", { method: "POST", body: png, headers: { ...userHeaders(t.key, "up"), "Content-Type": "image/png" } });
    expect(raw.status).toBe(201);
    const up = (await raw.json()) as Record<string, unknown>;
    expect(up).toMatchObject({
      id: expect.stringMatching(/^upl_/),
      ref: `upload:${up.id as string}`,
      content_type: "image/png",
      size: png.length,
      width: 40,
      height: 30,
    });

    const form = new FormData();
    form.append("file", new File([PYTHON_JPEG], "photo.jpg", { type: "image/jpeg" }));
    const multi = await call("/v1/uploads", { method: "POST", body: form, headers: userHeaders(t.key, "up") });
    expect(multi.status).toBe(201);
    expect(await multi.json()).toMatchObject({ content_type: "image/jpeg", width: 16, height: 16 });

    const ok = await submit(t, "up", withImage(up.ref as string));
    expect(ok.status).toBe(202);
    // Another user of the same tenant cannot use it.
    const other = await submit(t, "someone-else", withImage(up.ref as string));
    expect((await expectProblem(other, 422, "invalid-image-input")).reason).toBe("upload-not-found");
    await expectProblem(await submit(t, "up", withImage("upload:upl_aaaaaaaaaaaaaaaaaaaa")), 422, "invalid-image-input");
    await call(`/v1/jobs/${((await ok.json()) as { id: string }).id}`, { method: "DELETE", headers: userHeaders(t.key, "up") });
  });

  it("refuses what is not an acceptable image, by its bytes", async ({ expect }) => {
    const t = await createTenant();
    const html = new TextEncoder().encode("<html><body>hi</body></html>");
    const lie = await call("/v1/uploads", { method: "POST", body: html, headers: { ...userHeaders(t.key, "up"), "Content-Type": "image/png" } });
    expect((await expectProblem(lie, 422, "invalid-image-input")).reason).toBe("not-an-image");
    await expectProblem(
      await call("/v1/uploads", { method: "POST", body: "x", headers: { ...userHeaders(t.key, "up"), "Content-Type": "text/plain" } }),
      415,
      "unsupported-media-type",
    );
    await expectProblem(await call("/v1/uploads", { method: "POST", body: SMALL_PNG, headers: { "Content-Type": "image/png" } }), 401, "unauthenticated");
  });
});
