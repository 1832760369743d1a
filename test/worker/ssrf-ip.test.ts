// src/ssrf/ip.ts and ip-ranges.ts at the edges of every range: the first and last blocked address
// and the public neighbours on each side, the IPv6 allow-list (2000::/3 minus its special blocks),
// transition forms unwrapped to the IPv4 they carry, and strict parsing that fails closed.
import { describe, it } from "vitest";
import { parseIp } from "../../src/ssrf/ip.ts";
import { classifyAddressText } from "../../src/ssrf/ip-ranges.ts";

describe("IPv4", () => {
  it.for([
    "1.1.1.1",
    "8.8.8.8",
    "93.184.215.14",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.255",
    "192.0.3.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "168.63.129.15",
    "168.63.129.17",
  ])("%s is public", (address, { expect }) => {
    expect(classifyAddressText(address)).toEqual({ allowed: true });
  });

  it.for([
    ["0.0.0.0", /this network/],
    ["0.255.255.255", /this network/],
    ["10.0.0.0", /RFC 1918/],
    ["10.255.255.255", /RFC 1918/],
    ["100.64.0.0", /carrier-grade/],
    ["100.127.255.255", /carrier-grade/],
    ["127.0.0.1", /loopback/],
    ["127.255.255.255", /loopback/],
    ["169.254.0.0", /link-local/],
    ["169.254.169.254", /metadata/],
    ["169.254.170.2", /link-local/],
    ["172.16.0.0", /RFC 1918/],
    ["172.31.255.255", /RFC 1918/],
    ["192.0.0.0", /IETF/],
    ["192.0.0.192", /IETF/],
    ["192.0.2.0", /TEST-NET-1/],
    ["192.31.196.1", /AS112/],
    ["192.52.193.1", /AMT/],
    ["192.88.99.1", /6to4/],
    ["192.168.0.0", /RFC 1918/],
    ["192.168.255.255", /RFC 1918/],
    ["192.175.48.1", /AS112/],
    ["198.18.0.0", /benchmarking/],
    ["198.19.255.255", /benchmarking/],
    ["198.51.100.1", /TEST-NET-2/],
    ["203.0.113.1", /TEST-NET-3/],
    ["224.0.0.1", /multicast/],
    ["239.255.255.255", /multicast/],
    ["240.0.0.0", /reserved/],
    ["255.255.255.255", /broadcast/],
    ["168.63.129.16", /Azure/],
  ] as const)("%s is blocked (%s)", ([address, range], { expect }) => {
    expect(classifyAddressText(address)).toEqual({ allowed: false, range: expect.stringMatching(range) });
  });
});

describe("IPv6", () => {
  it.for([
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:82b::200e",
    "2001:200::1",
    "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:db9::",
    "3ffe::1",
    "3fff:1000::1",
    "2000::",
    "2620:0:ccc::2",
    "2606:4700:4700:0:0:0:0:1111",
  ])("%s is public", (address, { expect }) => {
    expect(classifyAddressText(address)).toEqual({ allowed: true });
  });

  it.for([
    ["::", /unspecified/],
    ["::1", /loopback/],
    ["0:0:0:0:0:0:0:1", /loopback/],
    ["::ffff:127.0.0.1", /IPv4-mapped form of 127\.0\.0\.1 \(loopback\)/],
    ["::ffff:a9fe:a9fe", /IPv4-mapped form of 169\.254\.169\.254/],
    ["::ffff:8.8.8.8", /IPv4-mapped form of 8\.8\.8\.8 \(public\)/],
    ["::7f00:1", /IPv4-compatible form of 127\.0\.0\.1/], // the gap ipaddr.js calls "unicast"
    ["::127.0.0.1", /IPv4-compatible form of 127\.0\.0\.1/],
    ["::ffff:0:7f00:1", /SIIT\) form of 127\.0\.0\.1/],
    ["64:ff9b::a9fe:a9fe", /NAT64 form of 169\.254\.169\.254/],
    ["64:ff9b::8.8.8.8", /NAT64 form of 8\.8\.8\.8 \(public\)/],
    ["64:ff9b:1::a00:1", /local-use NAT64 form of 10\.0\.0\.1/],
    ["2002:a9fe:a9fe::", /6to4 form of 169\.254\.169\.254/],
    ["2002:0808:0808::1", /6to4 form of 8\.8\.8\.8/],
    ["2001:0:4136:e378:8000:63bf:3f57:fdf2", /Teredo form of 192\.168\.2\.13/],
    ["2001:1ff:ffff::1", /IETF protocol assignments/],
    ["2001:2::1", /IETF protocol assignments/], // benchmarking
    ["2001:20::1", /IETF protocol assignments/], // ORCHIDv2
    ["2001:db8::1", /documentation/],
    ["3fff::1", /documentation/],
    ["3fff:fff:ffff::1", /documentation/],
    ["100::1", /discard/],
    ["5f00::1", /SRv6/],
    ["fc00::1", /unique local/],
    ["fd00:ec2::254", /unique local/],
    ["fe80::1", /link-local/],
    ["febf:ffff::1", /link-local/],
    ["fec0::1", /site-local/],
    ["ff02::1", /multicast/],
    ["4000::1", /outside IPv6 global unicast/],
    ["1::", /outside IPv6 global unicast/],
    ["e000::1", /outside IPv6 global unicast/],
  ] as const)("%s is blocked (%s)", ([address, range], { expect }) => {
    expect(classifyAddressText(address)).toEqual({ allowed: false, range: expect.stringMatching(range) });
  });
});

describe("parsing is strict and fails closed", () => {
  it.for([
    ["[::1]", 6],
    ["::", 6],
    ["1:2:3:4:5:6:7:8", 6],
    ["1::", 6],
    ["::ffff:1.2.3.4", 6],
    ["FE80::1", 6],
    ["1:2:3:4:5:6:1.2.3.4", 6],
    ["1:2:3:4:5:6:7::", 6],
    ["0.0.0.0", 4],
    ["255.255.255.255", 4],
  ] as const)("%s parses as IPv%d", ([text, family], { expect }) => {
    expect(parseIp(text)?.family).toBe(family);
  });

  it("embedded dotted quads land in the last 32 bits", ({ expect }) => {
    expect(Array.from(parseIp("::ffff:1.2.3.4")!.bytes.subarray(10))).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(Array.from(parseIp("64:ff9b::10.0.0.1")!.bytes)).toEqual([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
  });

  it.for([
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.4.",
    " 1.2.3.4",
    "0x7f.0.0.1",
    "2130706433",
    "1.2.3.-4",
    "::1::",
    ":::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "12345::",
    "g::1",
    "fe80::1%eth0",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1.2.3",
    "::1.2.3.4:5",
    "::01.2.3.4",
    "[::1",
    "localhost",
  ])("%j is not an address, and is blocked", (text, { expect }) => {
    if (!text.startsWith("[")) expect(parseIp(text)).toBeNull();
    expect(classifyAddressText(text)).toEqual({ allowed: false, range: "not a valid IP address" });
  });
});
