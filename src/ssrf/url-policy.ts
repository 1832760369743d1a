/**
 * The static part of the SSRF guard: everything that can be decided from the URL alone.
 *
 * Parses once with the runtime's WHATWG `URL` (the same parser `fetch` uses), then applies, in
 * order: length, userinfo, the dev/test allow-list, scheme, port, host. IP literals are checked
 * here against the address ranges; names go through the name rules and come back as a `name`
 * target that the DNS check (check-url.ts) must still resolve. Callers must use the returned
 * `url.href`, never the input string, so the validator and the fetcher cannot disagree.
 *
 * `OUTBOUND_ALLOW_HOSTS` (exact `host:port`, dev/test only) skips the scheme, port and address
 * checks for that URL and nothing else: userinfo is still refused, and redirect and size rules are
 * applied by the fetcher as usual.
 */
import { isAllowListed } from "../lib/outbound-allow.ts";
import { checkHostName } from "./hostname.ts";
import { parseIp } from "./ip.ts";
import { classifyIp } from "./ip-ranges.ts";
import { type Refusal, refuse, type UrlRefusalReason } from "./refusal.ts";

export const DEFAULT_SCHEMES: readonly string[] = ["https:", "http:"];
export const DEFAULT_PORTS: readonly number[] = [80, 443, 8080, 8443];
/** Long enough for pre-signed object-store URLs, short enough to bound work and log lines. */
export const MAX_URL_LENGTH = 4096;

export interface UrlPolicy {
  /** Allowed schemes with their colon, e.g. `["https:"]`. Default https and http. */
  schemes?: readonly string[];
  /** Allowed ports (the scheme's default port counts). Default 80, 443, 8080, 8443. */
  ports?: readonly number[];
  /** Parsed `OUTBOUND_ALLOW_HOSTS` (`parseAllowHosts`); empty in production. */
  allowHosts?: Set<string>;
}

/** Where the URL points, once the static rules pass. */
export type UrlTarget = { kind: "ip"; address: string } | { kind: "name"; name: string } | { kind: "allow-listed"; hostPort: string };

export type PolicyVerdict = { ok: true; url: URL; target: UrlTarget } | Refusal<UrlRefusalReason>;

/** Subject of the detail sentence: "The URL" for the input, something else for a redirect hop. */
export type Subject = string;

function effectivePort(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

function schemeList(schemes: readonly string[]): string {
  return schemes.map((s) => s.replace(/:$/, "")).join(" or ");
}

export function checkUrlPolicy(input: string | URL, policy: UrlPolicy = {}, subject: Subject = "The URL"): PolicyVerdict {
  const schemes = policy.schemes ?? DEFAULT_SCHEMES;
  const ports = policy.ports ?? DEFAULT_PORTS;
  const raw = typeof input === "string" ? input : input.href;
  if (raw.length > MAX_URL_LENGTH) {
    return refuse("invalid-url", `${subject} is longer than ${MAX_URL_LENGTH} characters.`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Never fall back to a more lenient parser: what this one rejects, fetch would treat differently.
    return refuse("invalid-url", `${subject} is not a valid absolute URL.`);
  }
  if (url.href.length > MAX_URL_LENGTH) {
    return refuse("invalid-url", `${subject} is longer than ${MAX_URL_LENGTH} characters.`);
  }
  if (url.username !== "" || url.password !== "") {
    return refuse("userinfo", `${subject} must not contain a user name or password; use a URL without credentials.`);
  }
  if (policy.allowHosts && policy.allowHosts.size > 0 && isAllowListed(url, policy.allowHosts)) {
    return { ok: true, url, target: { kind: "allow-listed", hostPort: `${url.hostname}:${effectivePort(url)}` } };
  }
  if (!schemes.includes(url.protocol)) {
    return refuse("scheme", `${subject} uses the ${url.protocol.replace(/:$/, "")} scheme; only ${schemeList(schemes)} URLs are accepted.`);
  }
  const port = effectivePort(url);
  if (!ports.includes(port)) {
    return refuse("port", `${subject} uses port ${port}; only ports ${ports.join(", ")} are allowed.`);
  }
  const literal = parseIp(url.hostname);
  if (literal) {
    const verdict = classifyIp(literal);
    if (!verdict.allowed) {
      return refuse("private-address", `${subject} points to ${url.hostname}, a non-public address (${verdict.range}); use a publicly reachable URL.`);
    }
    return { ok: true, url, target: { kind: "ip", address: url.hostname } };
  }
  if (url.hostname.startsWith("[")) {
    // Bracketed but not an address we can parse: refuse instead of guessing.
    return refuse("host", `${subject} has an IPv6 host that cannot be checked; use a public host name.`);
  }
  const name = checkHostName(url.hostname);
  if (!name.ok) return refuse("host", `${subject} ${name.detail}.`);
  return { ok: true, url, target: { kind: "name", name: name.name } };
}
