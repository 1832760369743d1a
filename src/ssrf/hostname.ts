/**
 * Rules for DNS names (not IP literals) in outbound URLs, applied before any resolution.
 *
 * A name is refused when it can only mean "somewhere on our side": localhost and its subdomains,
 * special-use and private-use suffixes (RFC 6761, 6762 App. G, 8375, 7686, 9476, ICANN's
 * `.internal`), cloud metadata names, and single-label names (resolved against a search list, if at
 * all). The runtime's URL parser has already lower-cased, IDNA-mapped (`ⓛⓞⓒⓐⓛⓗⓞⓢⓣ` → `localhost`)
 * and punycoded the name; trailing dots are stripped here because the parser keeps them
 * (`localhost.` is `localhost`). Invariant: a name passes only if it is a syntactically valid
 * multi-label DNS name outside those suffixes; whether it resolves to a public address is the DNS
 * check's job.
 */

/** Suffixes (and the names themselves) that never denote a public web server. */
const BLOCKED_SUFFIXES = [
  "localhost", // RFC 6761
  "local", // mDNS, RFC 6762 (also Kubernetes' cluster.local)
  "internal", // ICANN private-use TLD (2024); GCP/AWS internal DNS
  "arpa", // home.arpa (RFC 8375), in-addr.arpa, ip6.arpa: never an image host
  "localdomain",
  "onion", // RFC 7686
  "test", // RFC 6761
  "invalid", // RFC 6761
  "example", // RFC 6761 (the TLD, not example.com)
  "alt", // RFC 9476
  "intranet", // RFC 6762 App. G: commonly used privately
  "private",
  "corp",
  "home",
  "lan",
];

/** Exact names of cloud metadata services that are not covered by a suffix above. */
const BLOCKED_NAMES = new Set(["metadata.google.internal", "metadata.goog"]);

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const NUMERIC_LAST_LABEL = /^(?:\d+|0x[0-9a-f]*)$/;

export type NameVerdict = { ok: true; name: string } | { ok: false; detail: string };

export function checkHostName(hostname: string): NameVerdict {
  const name = hostname.toLowerCase().replace(/\.+$/, "");
  if (name === "") return { ok: false, detail: "has an empty host name" };
  if (name.length > 253) return { ok: false, detail: "has a host name longer than 253 characters" };
  const labels = name.split(".");
  if (!labels.every((l) => LABEL.test(l))) {
    return { ok: false, detail: "has a host name that is not a valid DNS name" };
  }
  // The URL parser turns numeric hosts into IPv4 (or rejects them); if one got here it was not
  // understood as an address, so refuse it rather than let something else interpret it.
  if (NUMERIC_LAST_LABEL.test(labels.at(-1)!)) {
    return { ok: false, detail: "has a host name that looks like a malformed IP address" };
  }
  if (BLOCKED_NAMES.has(name)) return { ok: false, detail: "points to a cloud metadata service" };
  const tld = labels.at(-1)!;
  if (BLOCKED_SUFFIXES.includes(tld)) {
    return { ok: false, detail: `uses the host name ${name}, which is reserved for local or private networks` };
  }
  if (labels.length === 1) {
    return { ok: false, detail: `uses the single-label host name ${name}; use a fully qualified public name` };
  }
  return { ok: true, name };
}
