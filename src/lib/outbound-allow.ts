/**
 * The dev/test-only exception list `OUTBOUND_ALLOW_HOSTS` (exact `host:port` matches), and the
 * rule for admin-configured URLs such as a tenant's JWKS endpoint: https, no userinfo, unless the
 * exact host:port is allow-listed for local testing. Production refuses a non-empty list.
 */
import { isLoopbackHost } from "../protocol/loopback.ts";

export function parseAllowHosts(value: string): Set<string> {
  return new Set(
    value
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ""),
  );
}

function hostPort(url: URL): string {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname.toLowerCase()}:${port}`;
}

export function isAllowListed(url: URL, allow: Set<string>): boolean {
  return (url.protocol === "http:" || url.protocol === "https:") && allow.has(hostPort(url));
}

/** The checks every admin-configured URL gets: absolute, no credentials in it. */
function parseConfigured(raw: string): { url: URL } | { why: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { why: "is not a valid absolute URL" };
  }
  if (url.username || url.password) return { why: "must not contain a user name or password" };
  return { url };
}

/** Null when the URL may be used, else why not (a sentence for a problem detail). */
export function checkConfiguredUrl(raw: string, allow: Set<string>): string | null {
  const parsed = parseConfigured(raw);
  if ("why" in parsed) return parsed.why;
  const { url } = parsed;
  if (isAllowListed(url, allow)) return null;
  if (url.protocol !== "https:") return "must use https";
  return null;
}

/**
 * GPU host URLs are registered by an admin: https with a hostname in production; outside
 * production, plain http to loopback is allowed too so the local stack and tests can run hosts on
 * 127.0.0.1 without opening OUTBOUND_ALLOW_HOSTS (which exists for user-supplied URLs).
 */
export function checkHostUrl(raw: string, production: boolean): string | null {
  const parsed = parseConfigured(raw);
  if ("why" in parsed) return parsed.why;
  const { url } = parsed;
  if (url.search || url.hash) return "must not have a query or fragment";
  const loopback = isLoopbackHost(url.hostname);
  if (!production && loopback && (url.protocol === "http:" || url.protocol === "https:")) return null;
  if (url.protocol !== "https:") return "must use https (a Worker reaches hosts by hostname: a DNS record or a Cloudflare Tunnel)";
  if (/^[\d.]+$/.test(url.hostname) || url.hostname.startsWith("[")) return "must use a hostname, not an IP address (Workers cannot fetch bare IPs)";
  return null;
}
