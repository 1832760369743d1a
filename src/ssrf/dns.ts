/**
 * DNS for the SSRF guard: a `Resolver` interface and a DNS-over-HTTPS implementation (JSON API).
 *
 * Trade-off, stated plainly: this is defense in depth, not a guarantee. A Worker's `fetch` does its
 * own resolution and cannot be pinned to the address checked here, so a name whose answers change
 * between this lookup and the connect (DNS rebinding, short TTLs) can still win the race. What this
 * check does catch is every name that points at a private address *consistently* (`*.nip.io`,
 * `localtest.me`, a customer's own `intranet.example.com` → 10.x), which is the common case. The
 * other layers are `global_fetch_strictly_public` and Workers' egress, which cannot reach private
 * networks; see docs/ssrf.md.
 *
 * Invariant: `resolve` returns every A and AAAA answer or rejects; it never returns a partial list
 * (a failed AAAA query with a good A query rejects), so callers can refuse when ANY address is bad.
 */
import { z } from "zod";
import { type FetchFn, globalFetch } from "./fetch-fn.ts";

export interface Resolver {
  /** All A and AAAA addresses of `name` (empty when it has none); rejects when resolution failed. */
  resolve(name: string, signal?: AbortSignal): Promise<string[]>;
}

export const DEFAULT_DOH_ENDPOINT = "https://cloudflare-dns.com/dns-query";

export interface DohOptions {
  /** A DNS JSON API endpoint (Cloudflare's, or Google's `https://dns.google/resolve`). */
  endpoint?: string;
  /** Per lookup, both queries together. Default 3000 ms. */
  timeoutMs?: number;
  fetch?: FetchFn;
}

export class DnsError extends Error {
  override name = "DnsError";
}

const RECORD_TYPES = { A: 1, AAAA: 28 } as const;

const dnsJson = z.object({
  Status: z.number().int(),
  TC: z.boolean().optional(),
  Answer: z.array(z.object({ type: z.number().int(), data: z.string() })).optional(),
});

const NOERROR = 0;
const NXDOMAIN = 3;

export function dohResolver(options: DohOptions = {}): Resolver {
  const endpoint = options.endpoint ?? DEFAULT_DOH_ENDPOINT;
  const timeoutMs = options.timeoutMs ?? 3000;
  const doFetch = options.fetch ?? globalFetch;

  async function query(name: string, type: keyof typeof RECORD_TYPES, signal: AbortSignal): Promise<string[]> {
    const url = new URL(endpoint);
    url.searchParams.set("name", name);
    url.searchParams.set("type", type);
    const res = await doFetch(url.href, { headers: { accept: "application/dns-json" }, signal, redirect: "manual" });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new DnsError(`DoH ${type} query answered HTTP ${res.status}`);
    }
    const parsed = dnsJson.safeParse(await res.json());
    if (!parsed.success) throw new DnsError(`DoH ${type} answer is not DNS JSON`);
    const { Status, TC, Answer } = parsed.data;
    if (Status === NXDOMAIN) return [];
    if (Status !== NOERROR) throw new DnsError(`DoH ${type} query failed with DNS status ${Status}`);
    if (TC) throw new DnsError(`DoH ${type} answer was truncated`);
    // CNAME records come along in Answer; only the final address records matter.
    return (Answer ?? []).filter((a) => a.type === RECORD_TYPES[type]).map((a) => a.data);
  }

  return {
    async resolve(name, signal) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
      const [a, aaaa] = await Promise.all([query(name, "A", combined), query(name, "AAAA", combined)]);
      return [...a, ...aaaa];
    },
  };
}
