// Helpers for the SSRF tests inside workerd: a scripted resolver (tests never touch real DNS), a
// fetch that fails the test if the guard ever gets as far as the network, and the loopback
// server's address and allow-list as the Worker config sees them.
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { parseAllowHosts } from "../../src/lib/outbound-allow.ts";
import type { Resolver } from "../../src/ssrf/dns.ts";
import type { FetchFn } from "../../src/ssrf/fetch-fn.ts";

declare module "vitest" {
  interface ProvidedContext {
    ssrfPort: number;
  }
}

/** Public addresses (example.com's and Cloudflare's) for names that should pass. */
export const PUBLIC_V4 = "93.184.215.14";
export const PUBLIC_V6 = "2606:4700:4700::1111";

export type Answer = string[] | Error | ((call: number) => string[]);

/** A resolver answering from a table; records every name it was asked for. */
export function fakeResolver(table: Record<string, Answer>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async resolve(name) {
      calls.push(name);
      const answer = table[name];
      if (answer === undefined) throw new Error(`fakeResolver: no entry for ${name}`);
      if (answer instanceof Error) throw answer;
      return typeof answer === "function" ? answer(calls.filter((n) => n === name).length) : answer;
    },
  };
}

/** A resolver that never answers until the signal aborts (a DNS server that hangs). */
export const hangingResolver: Resolver = {
  resolve: (_name, signal) =>
    new Promise((_resolve, reject) => {
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    }),
};

/** For tests that must be decided before any connection: calling it is a test failure. */
export const noNetwork: FetchFn = async (url) => {
  throw new Error(`the guard tried to fetch ${url}`);
};

export function ssrfOrigin(): string {
  const port = inject("ssrfPort");
  if (typeof port !== "number") {
    throw new Error("ssrfPort is not provided: start test/support/node/ssrf-server.ts in the workers globalSetup and allow-list it (docs/ssrf.md)");
  }
  return `http://127.0.0.1:${port}`;
}

/** OUTBOUND_ALLOW_HOSTS exactly as the Worker under test is configured. */
export function allowHosts(): Set<string> {
  return parseAllowHosts(String((env as unknown as Record<string, unknown>).OUTBOUND_ALLOW_HOSTS ?? ""));
}
