// The bad-URL suite (research §2.6) run inside workerd, so the Worker's own WHATWG URL parser
// decides what each string means. Every unsafe URL must be refused with the expected reason
// before any connection is attempted (the injected fetch fails the test if reached); the allowed
// controls must reach fetch with the parsed `href`. DNS answers come from a scripted resolver.
import { describe, it } from "vitest";
import { checkUrl } from "../../src/ssrf/check-url.ts";
import { fetchImage } from "../../src/ssrf/image-input.ts";
import type { RefusalReason } from "../../src/ssrf/refusal.ts";
import { checkWebhookUrl } from "../../src/ssrf/webhook-url.ts";
import { fakeResolver, noNetwork, PUBLIC_V4, PUBLIC_V6 } from "../support/ssrf-helpers.ts";
import { makePng } from "../support/ssrf-images.ts";

const resolver = fakeResolver({
  // Public names that point home (case 39).
  "127.0.0.1.nip.io": ["127.0.0.1"],
  "localtest.me": ["127.0.0.1", "::1"],
  "customer1.app.localhost.my.company.127.0.0.1.nip.io": ["127.0.0.1"],
  "metadata.example.net": ["169.254.169.254"],
  // ANY bad answer is enough, whichever family it is in.
  "mixed.example.com": [PUBLIC_V4, "10.0.0.7"],
  "mixed6.example.com": [PUBLIC_V4, PUBLIC_V6, "fd00:ec2::254"],
  "mapped.example.com": ["::ffff:169.254.169.254"],
  "garbage.example.com": [PUBLIC_V4, "not-an-address"],
  "nothing.example.com": [],
  "broken.example.com": new Error("SERVFAIL"),
  // Controls.
  "images.example.com": [PUBLIC_V4, PUBLIC_V6],
  "xn--bcher-kva.de": [PUBLIC_V4],
  "cdn_edge.example.org": [PUBLIC_V4],
});

const options = { resolver, maxBytes: 1_000_000, maxPixels: 1_000_000, timeoutMs: 5000, fetch: noNetwork };

/** [url, expected reason] — 46 research cases (several with variants) plus our own extras. */
const UNSAFE: [string, RefusalReason][] = [
  // 1–12 loopback and "this host" in every IPv4 spelling
  ["http://127.0.0.1/", "private-address"],
  ["http://127.1/", "private-address"],
  ["http://127.0.1/", "private-address"],
  ["http://127.127.127.127/", "private-address"],
  ["http://2130706433/", "private-address"],
  ["http://017700000001/", "private-address"],
  ["http://0177.0.0.1/", "private-address"],
  ["http://0x7f000001/", "private-address"],
  ["http://0x7f.0x0.0x0.0x1/", "private-address"],
  ["http://0x7f.1/", "private-address"],
  ["http://0/", "private-address"],
  ["http://0.0.0.0/", "private-address"],
  // 13–25 IPv6 and transition forms
  ["http://[::]/", "private-address"],
  ["http://[::1]/", "private-address"],
  ["http://[0:0:0:0:0:0:0:1]/", "private-address"],
  ["http://[::ffff:127.0.0.1]/", "private-address"],
  ["http://[::ffff:7f00:1]/", "private-address"],
  ["http://[::127.0.0.1]/", "private-address"], // → [::7f00:1], the ::/96 gap
  ["http://[64:ff9b::a9fe:a9fe]/", "private-address"], // NAT64 → metadata
  ["http://[2002:a9fe:a9fe::]/", "private-address"], // 6to4 → metadata
  ["http://[2001:0:4136:e378:8000:63bf:3f57:fdf2]/", "private-address"], // Teredo
  ["http://[fd00:ec2::254]/", "private-address"], // AWS IMDS over IPv6
  ["http://[fe80::1]/", "private-address"],
  ["http://[fe80::1%25eth0]/", "invalid-url"], // zone id: the parser throws, we must not crash
  ["http://[fec0::1]/", "private-address"],
  // 26–33 metadata, private, CGNAT, special IPv4 blocks
  ["http://169.254.169.254/latest/meta-data/", "private-address"],
  ["http://0xA9FEA9FE/", "private-address"],
  ["http://0251.0376.0251.0376/", "private-address"],
  ["http://2852039166/", "private-address"],
  ["http://metadata.google.internal/computeMetadata/v1/", "host"],
  ["http://10.0.0.1/", "private-address"],
  ["http://172.16.0.1/", "private-address"],
  ["http://192.168.1.1/", "private-address"],
  ["http://100.64.0.1/", "private-address"],
  ["http://100.100.100.200/", "private-address"], // Alibaba metadata
  ["http://198.18.0.1/", "private-address"],
  ["http://224.0.0.1/", "private-address"],
  ["http://240.0.0.1/", "private-address"],
  ["http://255.255.255.255/", "private-address"],
  ["http://192.0.0.170/", "private-address"],
  // 34–36 localhost in every spelling, full-width and ideographic digits
  ["http://localhost/", "host"],
  ["http://LOCALHOST/", "host"],
  ["http://localhost./", "host"],
  ["http://foo.localhost/", "host"],
  ["http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "host"],
  ["http://１２７.０.０.１/", "private-address"],
  ["http://127。0。0。1/", "private-address"],
  ["http://%31%32%37.0.0.1/", "private-address"],
  // 37–38 userinfo and parser-confusion strings
  ["http://evil.com@127.0.0.1/", "userinfo"],
  ["http://127.0.0.1#@evil.com/", "private-address"],
  ["http://127.0.0.1:80\\@evil.com/", "private-address"],
  ["http://1.1.1.1 &@2.2.2.2# @3.3.3.3/", "userinfo"],
  // 39 public names that resolve home
  ["http://127.0.0.1.nip.io/", "private-address"],
  ["http://localtest.me/", "private-address"],
  ["http://customer1.app.localhost.my.company.127.0.0.1.nip.io/", "private-address"],
  // 43 schemes
  ["file:///etc/passwd", "scheme"],
  ["gopher://127.0.0.1:6379/_INFO", "scheme"],
  ["dict://127.0.0.1:11211/stat", "scheme"],
  ["ftp://images.example.com/a.png", "scheme"],
  ["data:image/png;base64,iVBORw0KGgo=", "scheme"], // data URIs go through decodeImageDataUri instead
  ["blob:https://images.example.com/0b6f", "scheme"],
  ["javascript:alert(1)", "scheme"],
  ["ws://images.example.com/", "scheme"],
  // 44 ports
  ["https://images.example.com:22/", "port"],
  ["http://images.example.com:6379/", "port"],
  ["http://images.example.com:8188/prompt", "port"], // ComfyUI
  ["https://images.example.com:65536/", "invalid-url"],
  ["http://localhost:+11211aaa", "invalid-url"],
  ["http://localhost:00011211aaaa", "invalid-url"],
  // 45 overflowing or invalid literals fail closed
  ["http://425.510.425.510/", "invalid-url"],
  ["http://7147006462/", "invalid-url"],
  ["http://0x41414141A9FEA9FE/", "invalid-url"],
  // Extras: more blocks and name rules
  ["http://168.63.129.16/", "private-address"], // Azure WireServer
  ["http://192.0.2.1/", "private-address"],
  ["http://203.0.113.9/", "private-address"],
  ["http://[::ffff:0:127.0.0.1]/", "private-address"], // SIIT
  ["http://[64:ff9b:1::a9fe:a9fe]/", "private-address"], // local-use NAT64
  ["http://[::ffff:8.8.8.8]/", "private-address"], // transition forms are blocked even when public
  ["http://[2001:db8::1]/", "private-address"],
  ["http://[ff02::1]/", "private-address"],
  ["http://[100::1]/", "private-address"],
  ["http://intranet/", "host"],
  ["http://metadata/", "host"],
  ["http://printer.lan/", "host"],
  ["http://router.home.arpa/", "host"],
  ["http://1.0.0.127.in-addr.arpa/", "host"],
  ["http://shop.internal/", "host"],
  ["http://kubernetes.default.svc.cluster.local/", "host"],
  ["http://metadata.goog/", "host"],
  ["http://hidden.onion/", "host"],
  ["http://a!b.example.com/", "host"],
  ["http://metadata.example.net/", "private-address"],
  ["http://mixed.example.com/", "private-address"],
  ["http://mixed6.example.com/", "private-address"],
  ["http://mapped.example.com/", "private-address"],
  ["http://garbage.example.com/", "private-address"],
  ["http://nothing.example.com/", "dns"],
  ["http://broken.example.com/", "dns"],
  ["https://user:secret@images.example.com/a.png", "userinfo"],
  ["https://:secret@images.example.com/a.png", "userinfo"],
  ["/relative/a.png", "invalid-url"],
  ["//images.example.com/a.png", "invalid-url"],
  ["", "invalid-url"],
  [`https://images.example.com/${"a".repeat(4100)}`, "invalid-url"],
];

describe("unsafe URLs are refused before any connection", () => {
  const table = UNSAFE;

  it("the table holds at least 40 distinct URLs", ({ expect }) => {
    expect(new Set(table.map(([u]) => u)).size).toBeGreaterThanOrEqual(40);
  });

  it.for(table)("%s → %s", async ([url, reason], { expect }) => {
    const result = await fetchImage(url, options);
    expect(result).toMatchObject({ ok: false, reason });
    // The detail is one sentence a user can act on.
    expect(result.ok === false && result.detail).toMatch(/^The (?:URL|webhook URL)[^\n]*\.$/);
  });

  it("webhook URLs are refused for the same inputs", async ({ expect }) => {
    for (const [url] of table) {
      const result = await checkWebhookUrl(url, { resolver, schemes: ["https:", "http:"] });
      expect(result.ok, url).toBe(false);
    }
  });
});

describe("allowed controls reach fetch with the parsed href", () => {
  it.for([
    ["https://images.example.com/a.png", "https://images.example.com/a.png"],
    ["HTTPS://Images.Example.COM:443/a.png?x=1#frag", "https://images.example.com/a.png?x=1"],
    ["http://images.example.com/a.png", "http://images.example.com/a.png"],
    ["http://images.example.com:8080/a.png", "http://images.example.com:8080/a.png"],
    ["https://images.example.com:8443/a.png", "https://images.example.com:8443/a.png"],
    ["https://images.example.com:80/a.png", "https://images.example.com:80/a.png"], // 80 is on the port list
    ["https://images.example.com./a.png", "https://images.example.com./a.png"], // trailing dot: same name
    ["https://93.184.215.14/a.png", "https://93.184.215.14/a.png"],
    ["https://[2606:4700:4700::1111]/a.png", "https://[2606:4700:4700::1111]/a.png"],
    ["https://bücher.de/a.png", "https://xn--bcher-kva.de/a.png"],
    ["https://cdn_edge.example.org/a.png", "https://cdn_edge.example.org/a.png"],
    ["  https://images.example.com/a\tb.png\n", "https://images.example.com/ab.png"], // stripped by the parser, as fetch would
  ] as const)("%s", async ([input, href], { expect }) => {
    const png = makePng(2, 2);
    const seen: string[] = [];
    const result = await fetchImage(input, {
      ...options,
      fetch: async (url) => {
        seen.push(url);
        return new Response(png, { headers: { "content-type": "image/png" } });
      },
    });
    expect(result).toMatchObject({ ok: true, width: 2, height: 2, contentType: "image/png" });
    // The fetcher got the validator's URL (fragment dropped by fetch semantics is fine either way).
    expect(seen.map((u) => u.replace(/#.*$/, ""))).toEqual([href]);
  });

  it("names are resolved in their normalised form, IP literals not at all", async ({ expect }) => {
    const local = fakeResolver({ "images.example.com": [PUBLIC_V4] });
    expect(await checkUrl("https://IMAGES.example.com../a", { resolver: local })).toMatchObject({ ok: true });
    expect(await checkUrl("https://93.184.215.14/a", { resolver: local })).toMatchObject({ ok: true });
    expect(local.calls).toEqual(["images.example.com"]);
  });

  it("the port allow-list is a parameter", async ({ expect }) => {
    expect(await checkUrl("https://images.example.com:8443/", { resolver, ports: [443] })).toMatchObject({ ok: false, reason: "port" });
    expect(await checkUrl("https://images.example.com:9000/", { resolver, ports: [443, 9000] })).toMatchObject({ ok: true });
  });
});
