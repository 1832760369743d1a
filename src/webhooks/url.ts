/**
 * The SSRF guard (src/ssrf, `checkWebhookUrl`) as webhooks use it: once when a job is submitted,
 * and again before every delivery attempt, since a name's DNS answers can change in between.
 *
 * One distinction is ours: a refusal because the DNS-over-HTTPS resolver itself could not answer
 * (an outage on our side, not a fact about the customer's URL) is `unverified`, not a refusal. At
 * submit that lets the job in — nothing is fetched at submit, and every delivery re-checks and
 * fails closed — and at delivery it is a failed attempt that is retried later, not a verdict.
 * Everything the guard refuses for a reason that is about the URL stays a refusal.
 */
import type { Config } from "../config/schema.ts";
import { outboundOptions } from "../ssrf/from-config.ts";
import { checkWebhookUrl, type Resolver } from "../ssrf/index.ts";

export type WebhookUrlCheck =
  /** Passed every check; deliver to `url` (the parsed href), never to the raw input. */
  | { ok: true; url: string }
  /** Passed the static policy; DNS could not be consulted now. */
  | { ok: "unverified"; url: string; detail: string }
  | { ok: false; reason: string; detail: string; permanent: boolean };

/** Reasons decided from the URL's text alone: they cannot change without a new URL. */
const PERMANENT = new Set(["invalid-url", "scheme", "userinfo", "port", "host"]);

/** `config` supplies the deployment's ports, allow-list and resolver (src/ssrf/from-config.ts). */
export async function vetWebhookUrl(raw: string, config: Config, opts: { resolver?: Resolver } = {}): Promise<WebhookUrlCheck> {
  const outbound = outboundOptions(config);
  const inner = opts.resolver ?? outbound.resolver;
  let resolverFailed = false;
  const resolver: Resolver = {
    async resolve(name, signal) {
      try {
        return await inner.resolve(name, signal);
      } catch (err) {
        resolverFailed = true;
        throw err;
      }
    },
  };
  const verdict = await checkWebhookUrl(raw, { allowHosts: outbound.allowHosts, ports: outbound.ports, resolver });
  if (verdict.ok) return { ok: true, url: verdict.url.href };
  if ((verdict.reason === "dns" && resolverFailed) || verdict.reason === "timeout") {
    return { ok: "unverified", url: new URL(raw).href, detail: verdict.detail };
  }
  return { ok: false, reason: verdict.reason, detail: verdict.detail, permanent: PERMANENT.has(verdict.reason) };
}
