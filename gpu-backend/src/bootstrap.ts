/**
 * A launched host's first step (issue 18.3): with BOOTSTRAP_TOKEN and no HOST_SECRET, trade the
 * token at the edge for this host's secret and the edge's public keys, and put them in the
 * environment the configuration is then read from (the token is removed from it). The edge may not
 * know a host the autoscaler has just launched yet, and may be briefly unreachable, so refusals
 * and network errors are retried until BOOTSTRAP_WAIT_MS; a malformed token (400/422) is not.
 */
import { BootstrapReply } from "../../src/protocol/bootstrap.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { edgeUrl } from "./config.ts";
import type { Logger } from "./log.ts";

export interface BootstrapDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  log?: Logger;
}

export type BootstrapResult = { ok: true; bootstrapped: boolean } | { ok: false; problem: string };

const ATTEMPT_TIMEOUT_MS = 10_000;
const MAX_REPLY_BYTES = 64 * 1024;
const DEFAULT_WAIT_MS = 120_000;

const delayMs = (attempt: number) => Math.min(5_000, 500 * 2 ** attempt);

export async function bootstrapEnv(env: Record<string, string | undefined>, deps: BootstrapDeps = {}): Promise<BootstrapResult> {
  const token = env.BOOTSTRAP_TOKEN?.trim();
  // Nothing to trade, or a secret given as well: the configuration check reports the latter.
  if (!token || env.HOST_SECRET) return { ok: true, bootstrapped: false };
  const edge = edgeUrl.safeParse(env.EDGE_URL ?? "");
  if (!edge.success) return { ok: false, problem: `EDGE_URL: ${env.EDGE_URL === undefined ? "is required" : (edge.error.issues[0]?.message ?? "invalid")}` };
  const waitMs = env.BOOTSTRAP_WAIT_MS ? Number(env.BOOTSTRAP_WAIT_MS) : DEFAULT_WAIT_MS;
  if (!Number.isInteger(waitMs) || waitMs < 1_000) return { ok: false, problem: "BOOTSTRAP_WAIT_MS: must be a whole number of milliseconds, at least 1000" };

  const doFetch = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = deps.now ?? Date.now;
  const deadline = now() + waitMs;
  let last = "no answer yet";
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await doFetch(`${edge.data}${edgePaths.bootstrap}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token }),
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      const text = (await res.text()).slice(0, MAX_REPLY_BYTES);
      if (res.status === 200) {
        const reply = BootstrapReply.safeParse(JSON.parse(text));
        if (!reply.success) return { ok: false, problem: "BOOTSTRAP_TOKEN: the edge's answer is not a bootstrap reply" };
        if (env.HOST_ID && env.HOST_ID !== reply.data.host_id) {
          return { ok: false, problem: "HOST_ID: differs from the host the bootstrap token was issued for" };
        }
        env.HOST_ID = reply.data.host_id;
        env.HOST_SECRET = reply.data.secret;
        env.EDGE_JWKS = JSON.stringify(reply.data.edge_jwks);
        delete env.BOOTSTRAP_TOKEN;
        deps.log?.info("bootstrapped", { host_id: reply.data.host_id, pool: reply.data.pool, attempts: attempt + 1 });
        return { ok: true, bootstrapped: true };
      }
      if (res.status === 400 || res.status === 422) return { ok: false, problem: "BOOTSTRAP_TOKEN: refused by the edge as malformed" };
      last = `the edge answered ${res.status}`;
    } catch (err) {
      last = `the edge is unreachable (${(err as Error).name})`;
    }
    if (now() + delayMs(attempt) > deadline) break;
    deps.log?.warn("bootstrap_retry", { attempt: attempt + 1, reason: last });
    await sleep(delayMs(attempt));
  }
  return { ok: false, problem: `BOOTSTRAP_TOKEN: not accepted within BOOTSTRAP_WAIT_MS (${last}); the token may be used or expired: the host needs a new one` };
}
