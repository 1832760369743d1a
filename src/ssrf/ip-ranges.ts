/**
 * Is this address one the edge may connect to on a user's behalf? Only public unicast is allowed.
 *
 * IPv4: a deny-list of every special-purpose block (IANA registry + cloud metadata) — the rest of
 * the space is public unicast. IPv6: an allow-list (only 2000::/3, global unicast) minus the
 * special blocks inside it, because a deny-list is what let `::/96` (`[::127.0.0.1]` →
 * `[::7f00:1]`) through in libraries that block "anything not unicast".
 *
 * Transition forms that embed an IPv4 address (IPv4-mapped, IPv4-compatible, SIIT, NAT64, 6to4,
 * Teredo) are unwrapped so the verdict names the IPv4 host they point at, and are blocked whatever
 * that address is: none is needed to fetch a public image, and each is a known bypass route.
 * Invariant: `classifyIp` returns `allowed: true` only for public unicast; anything it does not
 * recognise is blocked (fail closed).
 */
import { formatIpv4, type IpAddress, parseIp } from "./ip.ts";

export type AddressVerdict = { allowed: true } | { allowed: false; range: string };

interface Block {
  prefix: Uint8Array;
  bits: number;
  range: string;
}

function v4(cidr: string, range: string): Block {
  const [addr, bits] = cidr.split("/");
  return { prefix: Uint8Array.from(addr!.split("."), Number), bits: Number(bits), range };
}

function v6(cidr: string, range: string): Block {
  const [addr, bits] = cidr.split("/");
  const parsed = parseIp(addr!);
  if (parsed?.family !== 6) throw new Error(`bad IPv6 block ${cidr}`);
  return { prefix: parsed.bytes, bits: Number(bits), range };
}

function inBlock(bytes: Uint8Array, block: Block): boolean {
  const full = block.bits >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== block.prefix[i]) return false;
  const rest = block.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full]! & mask) === (block.prefix[full]! & mask);
}

/** IANA IPv4 special-purpose registry (RFC 6890 and later) plus cloud-specific addresses. */
const IPV4_BLOCKED: Block[] = [
  v4("0.0.0.0/8", "“this network” (0.0.0.0/8)"),
  v4("10.0.0.0/8", "private network (RFC 1918)"),
  v4("100.64.0.0/10", "carrier-grade NAT (RFC 6598)"),
  v4("127.0.0.0/8", "loopback"),
  v4("169.254.0.0/16", "link-local, where cloud metadata services live"),
  v4("172.16.0.0/12", "private network (RFC 1918)"),
  v4("192.0.0.0/24", "IETF protocol assignments"),
  v4("192.0.2.0/24", "documentation (TEST-NET-1)"),
  v4("192.31.196.0/24", "AS112 DNS"),
  v4("192.52.193.0/24", "AMT"),
  v4("192.88.99.0/24", "6to4 relay anycast"),
  v4("192.168.0.0/16", "private network (RFC 1918)"),
  v4("192.175.48.0/24", "AS112 DNS"),
  v4("198.18.0.0/15", "benchmarking (RFC 2544)"),
  v4("198.51.100.0/24", "documentation (TEST-NET-2)"),
  v4("203.0.113.0/24", "documentation (TEST-NET-3)"),
  v4("224.0.0.0/4", "multicast"),
  v4("240.0.0.0/4", "reserved or broadcast"),
  // Public-looking but answers only inside Azure (host agent / DNS / metadata wire server).
  v4("168.63.129.16/32", "Azure platform (WireServer)"),
];

/** Within 2000::/3, the blocks that are not ordinary global unicast. */
const IPV6_SPECIAL_IN_GLOBAL: Block[] = [v6("2001:db8::/32", "documentation"), v6("2001::/23", "IETF protocol assignments"), v6("3fff::/20", "documentation")];

/** Outside 2000::/3 everything is blocked; these names only make the verdict readable. */
const IPV6_NAMED: Block[] = [
  v6("::/128", "unspecified"),
  v6("::1/128", "loopback"),
  v6("100::/64", "discard-only"),
  v6("5f00::/16", "SRv6 segment identifiers"),
  v6("fc00::/7", "unique local (private network)"),
  v6("fe80::/10", "link-local"),
  v6("fec0::/10", "site-local (deprecated)"),
  v6("ff00::/8", "multicast"),
];

const GLOBAL_UNICAST = v6("2000::/3", "global unicast");

/** Prefixes whose low (or middle) 32 bits are an IPv4 address. */
const EMBEDDING: { block: Block; name: string; ipv4: (b: Uint8Array) => Uint8Array }[] = [
  { block: v6("::ffff:0:0/96", ""), name: "IPv4-mapped", ipv4: (b) => b.subarray(12, 16) },
  { block: v6("::ffff:0:0:0/96", ""), name: "IPv4-translated (SIIT)", ipv4: (b) => b.subarray(12, 16) },
  { block: v6("64:ff9b::/96", ""), name: "NAT64", ipv4: (b) => b.subarray(12, 16) },
  { block: v6("64:ff9b:1::/48", ""), name: "local-use NAT64", ipv4: (b) => b.subarray(12, 16) },
  { block: v6("2002::/16", ""), name: "6to4", ipv4: (b) => b.subarray(2, 6) },
  // Teredo carries the client's IPv4 address inverted in the last 32 bits.
  { block: v6("2001::/32", ""), name: "Teredo", ipv4: (b) => b.subarray(12, 16).map((x) => x ^ 0xff) },
  // Deprecated IPv4-compatible (::a.b.c.d); `::` and `::1` are matched before this.
  { block: v6("::/96", ""), name: "IPv4-compatible", ipv4: (b) => b.subarray(12, 16) },
];

function classifyIpv4(bytes: Uint8Array): AddressVerdict {
  const hit = IPV4_BLOCKED.find((b) => inBlock(bytes, b));
  return hit ? { allowed: false, range: hit.range } : { allowed: true };
}

function classifyIpv6(bytes: Uint8Array): AddressVerdict {
  const named = IPV6_NAMED.slice(0, 2).find((b) => inBlock(bytes, b)); // :: and ::1 first
  if (named) return { allowed: false, range: named.range };
  const embedding = EMBEDDING.find((e) => inBlock(bytes, e.block));
  if (embedding) {
    const inner = embedding.ipv4(bytes);
    const verdict = classifyIpv4(inner);
    const what = verdict.allowed ? "public" : verdict.range;
    return { allowed: false, range: `${embedding.name} form of ${formatIpv4(inner)} (${what})` };
  }
  if (!inBlock(bytes, GLOBAL_UNICAST)) {
    const hit = IPV6_NAMED.find((b) => inBlock(bytes, b));
    return { allowed: false, range: hit ? hit.range : "outside IPv6 global unicast (2000::/3)" };
  }
  const special = IPV6_SPECIAL_IN_GLOBAL.find((b) => inBlock(bytes, b));
  return special ? { allowed: false, range: special.range } : { allowed: true };
}

export function classifyIp(address: IpAddress): AddressVerdict {
  return address.family === 4 ? classifyIpv4(address.bytes) : classifyIpv6(address.bytes);
}

/** For resolver answers: text that does not parse is blocked, never skipped. */
export function classifyAddressText(text: string): AddressVerdict {
  const parsed = parseIp(text);
  return parsed ? classifyIp(parsed) : { allowed: false, range: "not a valid IP address" };
}
