/**
 * The two request filters ComfyUI installs (server.py), one or the other:
 * - default: the Origin/Host check — a request whose `Host` is a loopback name and whose
 *   `Origin` names a different host (and port, when both carry one) gets an empty 403; this is
 *   ComfyUI's defence against web pages posting prompts to 127.0.0.1;
 * - `--enable-cors-header ORIGIN`: no check, CORS headers on every response, OPTIONS → 200.
 */
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

/** True when the request must be refused with 403. */
export function originMismatch(req: IncomingMessage): boolean {
  const host = req.headers.host;
  const origin = req.headers.origin;
  if (host === undefined || origin === undefined) return false;
  let hostDomain = host.toLowerCase();
  const originNetloc = netloc(origin).toLowerCase();
  let originDomain = originNetloc;
  const hostParts = splitHostPort(hostDomain);
  const originParts = splitHostPort(originNetloc);
  if (!isLoopbackName(hostParts.hostname)) return false;
  // A side without a port is compared by host name only ("weird browsers").
  if (originParts.port === undefined) hostDomain = hostParts.hostname ?? "";
  if (hostParts.port === undefined) originDomain = originParts.hostname ?? "";
  if (hostDomain.length === 0 || originDomain.length === 0) return false;
  return hostDomain !== originDomain;
}

export function corsHeaders(allowedOrigin: string): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": allowedOrigin,
    "Access-Control-Allow-Methods": "POST, GET, DELETE, PUT, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Allow-Credentials": "true",
  };
}

/** `urlparse(origin).netloc`: the part after `scheme://` up to the next `/`, `?` or `#`. */
function netloc(url: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  return m?.[1] ?? "";
}

function splitHostPort(netlocText: string): { hostname: string | undefined; port: string | undefined } {
  const withoutUser = netlocText.slice(netlocText.lastIndexOf("@") + 1);
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(withoutUser);
  if (bracketed) return { hostname: bracketed[1], port: bracketed[2] || undefined };
  const colon = withoutUser.lastIndexOf(":");
  if (colon < 0) return { hostname: withoutUser || undefined, port: undefined };
  return { hostname: withoutUser.slice(0, colon) || undefined, port: withoutUser.slice(colon + 1) || undefined };
}

function isLoopbackName(hostname: string | undefined): boolean {
  if (!hostname) return false;
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  if (isIP(hostname) === 4) return hostname.startsWith("127.");
  if (isIP(hostname) === 6) return hostname === "::1";
  return false;
}
