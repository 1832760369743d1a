// DNS for the guard: the DNS-over-HTTPS resolver against a scripted DoH endpoint (no real
// network), and what checkUrl / checkWebhookUrl make of its answers — refuse on ANY blocked
// address, fail closed on errors, and re-check on every call, which is what catches a name that
// flips to a private address between submit and delivery (the Worker cannot pin addresses).
import { describe, it } from "vitest";
import { checkUrl } from "../../src/ssrf/check-url.ts";
import { DnsError, dohResolver } from "../../src/ssrf/dns.ts";
import type { FetchFn } from "../../src/ssrf/fetch-fn.ts";
import { checkWebhookUrl } from "../../src/ssrf/webhook-url.ts";
import { fakeResolver, hangingResolver, PUBLIC_V4, PUBLIC_V6 } from "../support/ssrf-helpers.ts";

type DnsJson = { Status: number; TC?: boolean; Answer?: readonly { type: number; data: string }[] };

/** A DoH endpoint answering from a table keyed by "name type"; records the requests. */
function doh(answers: Record<string, DnsJson | number | "hang" | string>) {
  const requests: { url: URL; accept: string | null }[] = [];
  const fetch: FetchFn = async (url, init) => {
    const u = new URL(url);
    requests.push({ url: u, accept: new Headers(init.headers).get("accept") });
    const answer = answers[`${u.searchParams.get("name")} ${u.searchParams.get("type")}`];
    if (answer === "hang") {
      return new Promise((_resolve, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason), { once: true }));
    }
    if (typeof answer === "number") return new Response("error", { status: answer });
    if (typeof answer === "string") return new Response(answer, { headers: { "content-type": "application/dns-json" } });
    return Response.json(answer ?? { Status: 3 }, { headers: { "content-type": "application/dns-json" } });
  };
  return { fetch, requests };
}

describe("DNS-over-HTTPS resolver", () => {
  it("asks for A and AAAA with the DNS JSON media type and returns both", async ({ expect }) => {
    const server = doh({
      "images.example.com A": { Status: 0, Answer: [{ type: 1, data: PUBLIC_V4 }] },
      "images.example.com AAAA": { Status: 0, Answer: [{ type: 28, data: PUBLIC_V6 }] },
    });
    const resolver = dohResolver({ endpoint: "https://dns.test/dns-query", fetch: server.fetch });
    expect(await resolver.resolve("images.example.com")).toEqual([PUBLIC_V4, PUBLIC_V6]);
    expect(server.requests.map((r) => `${r.url.origin}${r.url.pathname} ${r.url.searchParams.get("type")} ${r.accept}`).sort()).toEqual([
      "https://dns.test/dns-query A application/dns-json",
      "https://dns.test/dns-query AAAA application/dns-json",
    ]);
  });

  it("follows a CNAME chain to the address records only", async ({ expect }) => {
    const server = doh({
      "www.example.com A": {
        Status: 0,
        Answer: [
          { type: 5, data: "cdn.example.net." },
          { type: 1, data: "10.1.2.3" },
        ],
      },
      "www.example.com AAAA": { Status: 0 },
    });
    expect(await dohResolver({ fetch: server.fetch }).resolve("www.example.com")).toEqual(["10.1.2.3"]);
  });

  it("NXDOMAIN is an empty answer", async ({ expect }) => {
    expect(await dohResolver({ fetch: doh({}).fetch }).resolve("nope.example.com")).toEqual([]);
  });

  it.for([
    ["SERVFAIL", { Status: 2 }],
    ["REFUSED", { Status: 5 }],
    ["a truncated answer", { Status: 0, TC: true, Answer: [{ type: 1, data: PUBLIC_V4 }] }],
    ["an HTTP error", 503],
    ["a redirect", 302],
    ["a body that is not DNS JSON", '{"hello":"world"}'],
    ["a body that is not JSON", "<html>"],
  ] as const)("rejects on %s, even when the other family answered", async ([, aaaa], { expect }) => {
    const server = doh({ "x.example.com A": { Status: 0, Answer: [{ type: 1, data: PUBLIC_V4 }] }, "x.example.com AAAA": aaaa });
    await expect(dohResolver({ fetch: server.fetch }).resolve("x.example.com")).rejects.toThrow();
  });

  it("gives up after its own timeout", async ({ expect }) => {
    const server = doh({ "slow.example.com A": "hang", "slow.example.com AAAA": "hang" });
    await expect(dohResolver({ fetch: server.fetch, timeoutMs: 50 }).resolve("slow.example.com")).rejects.toThrow();
  });

  it("a resolver failure makes checkUrl refuse with reason dns (fail closed)", async ({ expect }) => {
    const server = doh({ "x.example.com A": { Status: 2 } });
    const resolver = dohResolver({ fetch: server.fetch });
    expect(await checkUrl("https://x.example.com/a.png", { resolver })).toMatchObject({ ok: false, reason: "dns" });
    await expect(resolver.resolve("x.example.com")).rejects.toBeInstanceOf(DnsError);
  });

  it("a private answer from DoH makes checkUrl refuse with private-address", async ({ expect }) => {
    const server = doh({
      "home.example.com A": { Status: 0, Answer: [{ type: 1, data: PUBLIC_V4 }] },
      "home.example.com AAAA": { Status: 0, Answer: [{ type: 28, data: "::1" }] },
    });
    const result = await checkUrl("https://home.example.com/a.png", { resolver: dohResolver({ fetch: server.fetch }) });
    expect(result).toEqual({
      ok: false,
      reason: "private-address",
      detail: "The URL has a host name, home.example.com, that resolves to ::1, a non-public address (loopback); use a publicly reachable URL.",
    });
  });
});

describe("webhook URLs", () => {
  const resolver = fakeResolver({ "hooks.example.com": [PUBLIC_V4], "hooks.internal-dns.example.com": ["192.168.0.10"] });

  it("accept a public https URL and hand back the parsed URL to deliver to", async ({ expect }) => {
    const result = await checkWebhookUrl("https://Hooks.Example.com/receive?x=1", { resolver });
    expect(result.ok && result.url.href).toBe("https://hooks.example.com/receive?x=1");
  });

  it("are https-only by default (the payload is signed, not encrypted); schemes can widen it", async ({ expect }) => {
    expect(await checkWebhookUrl("http://hooks.example.com/", { resolver })).toMatchObject({ ok: false, reason: "scheme" });
    expect(await checkWebhookUrl("http://hooks.example.com/", { resolver, schemes: ["https:", "http:"] })).toMatchObject({ ok: true });
  });

  it("refuse a name that resolves to a private address, naming the webhook URL", async ({ expect }) => {
    expect(await checkWebhookUrl("https://hooks.internal-dns.example.com/", { resolver })).toMatchObject({
      ok: false,
      reason: "private-address",
      detail: expect.stringMatching(/^The webhook URL has a host name/),
    });
  });

  it("re-checking before delivery catches a name rebound to a private address after submit", async ({ expect }) => {
    // First answer public (at submit), then private (at delivery): the rebinding pattern.
    const rebinding = fakeResolver({ "rebind.example.com": (call) => (call === 1 ? [PUBLIC_V4] : ["169.254.169.254"]) });
    expect(await checkWebhookUrl("https://rebind.example.com/hook", { resolver: rebinding })).toMatchObject({ ok: true });
    expect(await checkWebhookUrl("https://rebind.example.com/hook", { resolver: rebinding })).toMatchObject({ ok: false, reason: "private-address" });
  });

  it("time out with reason timeout when DNS hangs", async ({ expect }) => {
    expect(await checkWebhookUrl("https://hooks.example.com/", { resolver: hangingResolver, timeoutMs: 50 })).toMatchObject({ ok: false, reason: "timeout" });
  });

  it("a caller's own abort is thrown, not reported as the user's fault", async ({ expect }) => {
    const controller = new AbortController();
    const pending = checkWebhookUrl("https://hooks.example.com/", { resolver: hangingResolver, signal: controller.signal });
    controller.abort(new Error("shutting down"));
    await expect(pending).rejects.toThrow("shutting down");
  });
});
