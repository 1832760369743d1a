/**
 * Strict text → bytes parsing of IP addresses, for hosts the WHATWG URL parser has already
 * canonicalised and for addresses a DNS resolver returned.
 *
 * Only canonical text forms are accepted: IPv4 as four decimal octets without leading zeros, IPv6 as
 * RFC 4291 text (hex groups, one `::`, optional dotted-quad tail, no zone id). Legacy forms such as
 * `0x7f.1` or `017700000001` never reach here from a URL (the URL parser rewrites them to
 * `127.0.0.1`), and from a resolver they mean something is wrong, so `null` (unparseable) is what
 * callers treat as blocked: the parser fails closed, it never guesses.
 */

export type IpAddress = { family: 4; bytes: Uint8Array } | { family: 6; bytes: Uint8Array };

const OCTET = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return Uint8Array.from(parts, Number);
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function parseIpv6(text: string): Uint8Array | null {
  if (text.length > 45 || text.includes("%")) return null;
  let head = text;
  let tail: number[] = [];
  // An embedded dotted quad may only be the last 32 bits.
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) !== -1) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::"; "1::1.2.3.4" leaves "1::"; "1:2:3:4:5:6:1.2.3.4" leaves "…:6:".
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === "") return [];
    const groups = s.split(":");
    if (!groups.every((g) => HEX_GROUP.test(g))) return null;
    return groups.map((g) => parseInt(g, 16));
  };
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if (!left || !right) return null;
  const given = left.length + right.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    // "::" stands for at least one zero group.
    if (given > 7) return null;
    groups = [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail];
  } else {
    if (given !== 8) return null;
    groups = [...left, ...tail];
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Accepts `1.2.3.4`, `::1` and the bracketed `[::1]` form a URL's `hostname` has. */
export function parseIp(text: string): IpAddress | null {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const inner = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v6 = inner.includes(":") ? parseIpv6(inner) : null;
  return v6 ? { family: 6, bytes: v6 } : null;
}

export function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join(".");
}
