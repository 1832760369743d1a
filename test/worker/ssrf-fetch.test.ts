// fetchImage against a real loopback HTTP server (test/support/node/ssrf-server.ts), reached through
// OUTBOUND_ALLOW_HOSTS — which lifts only the address/scheme/port checks for that exact host:port,
// so redirects, caps, deadlines and image checks all run as in production. Covers redirects to
// private places (absolute, relative, protocol-relative), chains over the limit, the https→http
// downgrade, Content-Length and streamed caps, a gzip bomb, a slow trickle, lying labels, a
// pixel-bomb header, statuses and good images. Deadlines are short; nothing asserts on timing.
import { beforeAll, describe, expect as expectGlobal, it } from "vitest";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import type { FetchFn } from "../../src/ssrf/fetch-fn.ts";
import { type FetchImageOptions, fetchImage } from "../../src/ssrf/image-input.ts";
import { allowHosts, fakeResolver, PUBLIC_V4, ssrfOrigin } from "../support/ssrf-helpers.ts";
import { PYTHON_GIF, PYTHON_JPEG, PYTHON_WEBP, SMALL_PNG } from "../support/ssrf-images.ts";

let origin: string;
let options: FetchImageOptions;

beforeAll(() => {
  origin = ssrfOrigin();
  const allow = allowHosts();
  // Without this entry every test below would be refused as private-address, proving nothing.
  expectGlobal(allow.has(new URL(origin).host), "OUTBOUND_ALLOW_HOSTS must list the SSRF test server").toBe(true);
  options = {
    allowHosts: allow,
    resolver: fakeResolver({ "internal.example.com": ["10.0.0.5"], "images.example.com": [PUBLIC_V4] }),
    maxBytes: 1_048_576,
    maxPixels: 40_000_000,
    timeoutMs: 5000,
  };
});

const redirectTo = (to: string, status = 302) => `${origin}/redirect?status=${status}&to=${encodeURIComponent(to)}`;
const hex = async (b: Uint8Array) => toHex(await sha256(b));

describe("good images are accepted with sniffed type, dimensions and hash", () => {
  it.for([
    ["/img/png", "image/png", 3, 2, () => SMALL_PNG],
    ["/img/png?chunked", "image/png", 3, 2, () => SMALL_PNG],
    ["/img/jpeg", "image/jpeg", 16, 16, () => PYTHON_JPEG],
    ["/img/gif", "image/gif", 16, 16, () => PYTHON_GIF],
    ["/img/webp", "image/webp", 16, 16, () => PYTHON_WEBP],
  ] as const)("%s", async ([path, contentType, width, height, bytes], { expect }) => {
    const result = await fetchImage(origin + path, options);
    expect(result).toEqual({ ok: true, bytes: bytes(), contentType, width, height, frames: 1, sha256: await hex(bytes()) });
  });

  it("follows a relative redirect on the same host", async ({ expect }) => {
    expect(await fetchImage(redirectTo("/img/jpeg"), options)).toMatchObject({ ok: true, contentType: "image/jpeg" });
  });

  it("follows exactly maxRedirects hops, and refuses one more", async ({ expect }) => {
    expect(await fetchImage(`${origin}/chain/3`, options)).toMatchObject({ ok: true, width: 3 });
    expect(await fetchImage(`${origin}/chain/4`, options)).toMatchObject({ ok: false, reason: "redirect-limit" });
    expect(await fetchImage(`${origin}/chain/6`, options)).toMatchObject({ ok: false, reason: "redirect-limit" });
    expect(await fetchImage(`${origin}/chain/1`, { ...options, maxRedirects: 0 })).toMatchObject({ ok: false, reason: "redirect-limit" });
  });

  it("sends no cookies or credentials, not even one the previous hop set", async ({ expect }) => {
    const id = crypto.randomUUID();
    expect(await fetchImage(redirectTo(`/headers/${id}`), options)).toMatchObject({ ok: true });
    const seen = (await (await fetch(`${origin}/seen/${id}`)).json()) as Record<string, string>;
    expect(seen.cookie).toBeUndefined();
    expect(seen.authorization).toBeUndefined();
    expect(seen["user-agent"]).toMatch(/^comfyui-saas/);
    expect(seen.accept).toMatch(/^image\/png/);
  });
});

describe("redirects are re-validated at every hop", () => {
  it.for([301, 302, 303, 307, 308])("a %d to the metadata address is refused", async (status, { expect }) => {
    const result = await fetchImage(redirectTo("http://169.254.169.254/latest/meta-data/", status), options);
    expect(result).toEqual({
      ok: false,
      reason: "private-address",
      detail:
        "The URL's redirect target points to 169.254.169.254, a non-public address (link-local, where cloud metadata services live); use a publicly reachable URL.",
    });
  });

  it.for([
    ["protocol-relative to loopback (port 80 is not allow-listed)", "//127.0.0.1/admin", "private-address"],
    ["backslashed protocol-relative", "\\\\127.0.0.1\\admin", "private-address"],
    ["loopback on another allowed port", "http://127.0.0.1:8080/", "private-address"],
    ["IPv6 loopback", "http://[::1]/", "private-address"],
    ["decimal-encoded metadata", "http://2852039166/", "private-address"],
    ["a name that resolves to a private address", "http://internal.example.com/a.png", "private-address"],
    ["metadata.google.internal", "http://metadata.google.internal/", "host"],
    ["file:", "file:///etc/passwd", "scheme"],
    ["gopher:", "gopher://127.0.0.1:6379/_INFO", "scheme"],
    ["a disallowed port", "http://images.example.com:6379/", "port"],
    ["userinfo on the allow-listed host", "http://user:pw@127.0.0.1:PORT/img/png", "userinfo"],
    ["an invalid URL", "http://[::1", "redirect"],
  ] as const)("to %s is refused", async ([, location, reason], { expect }) => {
    const to = location.replace("PORT", new URL(origin).port);
    expect(await fetchImage(redirectTo(to), options)).toMatchObject({ ok: false, reason });
  });

  it("the allow-list is exact host:port: the same server as localhost is not on it", async ({ expect }) => {
    const port = Number(new URL(origin).port);
    const to = `http://localhost:${port}/img/png`;
    expect(await fetchImage(redirectTo(to), options)).toMatchObject({ ok: false, reason: "port" });
    expect(await fetchImage(redirectTo(to), { ...options, ports: [80, 443, port] })).toMatchObject({ ok: false, reason: "host" });
  });

  it("a redirect without Location is refused", async ({ expect }) => {
    expect(await fetchImage(`${origin}/no-location`, options)).toMatchObject({ ok: false, reason: "redirect" });
  });

  it("an https URL that redirects to plain http is refused, even to an allow-listed host", async ({ expect }) => {
    // The loopback server speaks only http, so the https hop is played by an injected fetch; the
    // http hop would go to the real server, and must never be made.
    const id = crypto.randomUUID();
    const calls: string[] = [];
    const fetchFn: FetchFn = async (url, init) => {
      calls.push(url);
      if (url.startsWith("https://images.example.com/")) {
        return new Response(null, { status: 302, headers: { location: `${origin}/headers/${id}` } });
      }
      return fetch(url, init);
    };
    expect(await fetchImage("https://images.example.com/a.png", { ...options, fetch: fetchFn })).toMatchObject({ ok: false, reason: "redirect" });
    expect(calls).toEqual(["https://images.example.com/a.png"]);
    expect(await (await fetch(`${origin}/seen/${id}`)).json()).toBeNull();
  });
});

describe("size caps hold whatever the headers say", () => {
  it("Content-Length over the cap is refused without reading the body", async ({ expect }) => {
    expect(await fetchImage(`${origin}/big-declared`, options)).toMatchObject({
      ok: false,
      reason: "too-large",
      detail: "The file is 10240 MiB, more than the 1 MiB limit; send a smaller file.",
    });
  });

  it("the cap is inclusive: exactly maxBytes passes, one byte less fails (declared length)", async ({ expect }) => {
    expect(await fetchImage(`${origin}/img/png`, { ...options, maxBytes: SMALL_PNG.length })).toMatchObject({ ok: true });
    expect(await fetchImage(`${origin}/img/png`, { ...options, maxBytes: SMALL_PNG.length - 1 })).toMatchObject({ ok: false, reason: "too-large" });
  });

  it("without Content-Length the streamed bytes are counted", async ({ expect }) => {
    expect(await fetchImage(`${origin}/img/png?chunked`, { ...options, maxBytes: SMALL_PNG.length })).toMatchObject({ ok: true });
    expect(await fetchImage(`${origin}/img/png?chunked`, { ...options, maxBytes: SMALL_PNG.length - 1 })).toMatchObject({ ok: false, reason: "too-large" });
  });

  it("an endless chunked body is cut off at the cap", async ({ expect }) => {
    expect(await fetchImage(`${origin}/big-chunked`, options)).toMatchObject({ ok: false, reason: "too-large" });
  });

  it("a gzip bomb is counted at its decoded size", async ({ expect }) => {
    // 32 MiB of zeros compressed to ~32 KiB: the Content-Length is small, the decoded body is not.
    // The streamed-count sentence (not the Content-Length one) shows which check caught it.
    expect(await fetchImage(`${origin}/gzip-bomb`, options)).toEqual({
      ok: false,
      reason: "too-large",
      detail: "The file is larger than the 1 MiB limit; send a smaller file.",
    });
  });
});

describe("time", () => {
  it("a body trickling one byte at a time is cut off at the deadline", async ({ expect }) => {
    expect(await fetchImage(`${origin}/trickle`, { ...options, timeoutMs: 300 })).toMatchObject({ ok: false, reason: "timeout" });
  });

  it("a caller's own abort is thrown, not reported as a refusal", async ({ expect }) => {
    const controller = new AbortController();
    const pending = fetchImage(`${origin}/trickle`, { ...options, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("request cancelled")), 50);
    await expect(pending).rejects.toThrow("request cancelled");
  });
});

describe("the bytes decide, not the label", () => {
  it.for([
    ["HTML labelled image/png", "/lie/html", "not-an-image"],
    ["SVG labelled image/png", "/lie/svg", "svg"],
    ["a 50 000×50 000 PNG header", "/img/png-huge", "too-many-pixels"],
    ["HTTP 404", "/status/404", "http-status"],
    ["HTTP 500", "/status/500", "http-status"],
    ["HTTP 204", "/status/204", "http-status"],
    ["a 300 Multiple Choices", "/status/300", "http-status"],
    // workerd logs its own "Uncaught (in promise) Network connection lost" here, even for a bare
    // fetch with a catch; the refusal below is what matters.
    ["a server that hangs up", "/hang-up", "network"],
  ] as const)("%s is refused", async ([, path, reason], { expect }) => {
    const result = await fetchImage(origin + path, options);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it("a status refusal says what the server answered", async ({ expect }) => {
    expect(await fetchImage(`${origin}/status/404`, options)).toMatchObject({ detail: expect.stringMatching(/^The URL answered HTTP 404/) });
  });
});
