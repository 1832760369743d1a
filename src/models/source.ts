/**
 * Where the edge may download a model file from (`source: {url}` on registration): https only,
 * on a host in MODEL_SOURCE_HOSTS, and the SSRF guard's static checks. A Hugging Face URL must name
 * a commit (`/<owner>/<repo>/resolve/<40-hex commit>/<file>`): a branch or tag can move to other
 * bytes, and the registration's SHA-256 would then fail for reasons nobody can see in the URL.
 *
 * The same host rule is applied to every redirect hop when the file is fetched (import.ts), so a
 * listed host cannot bounce the download elsewhere. `OUTBOUND_ALLOW_HOSTS` (dev/test) lifts the
 * scheme/port/address checks for its exact host:ports, as for every other outbound URL, but not
 * this host rule.
 */
import type { Config } from "../config/schema.ts";
import { hostMatches, parseHostPatterns } from "../lib/host-patterns.ts";
import { outboundOptions } from "../ssrf/from-config.ts";
import { checkUrlPolicy } from "../ssrf/url-policy.ts";

export const MODEL_SOURCE_SCHEMES: readonly string[] = ["https:"];

const HF_HOST = "huggingface.co";
const HF_PINNED = /^\/(?:datasets\/)?[^/]+\/[^/]+\/resolve\/[0-9a-f]{40}\/[^?#]+$/;

export type SourceVerdict = { ok: true; url: URL } | { ok: false; detail: string };

/** The host rule for every hop: null when `url`'s host is in MODEL_SOURCE_HOSTS, else why not. */
export function modelSourceHostRule(config: Config): (url: URL) => string | null {
  const patterns = parseHostPatterns(config.MODEL_SOURCE_HOSTS);
  return (url) =>
    hostMatches(url.hostname, patterns)
      ? null
      : `is on ${url.hostname}, which is not in MODEL_SOURCE_HOSTS (${config.MODEL_SOURCE_HOSTS || "empty"}); download from a listed host, or have an operator add it`;
}

/** The registration-time check of a source URL (DNS and redirects are checked when it is fetched). */
export function checkModelSource(raw: string, config: Config): SourceVerdict {
  const { allowHosts, ports } = outboundOptions(config);
  const policy = checkUrlPolicy(raw, { schemes: MODEL_SOURCE_SCHEMES, ports, allowHosts });
  if (!policy.ok) return { ok: false, detail: policy.detail };
  const { url } = policy;
  const ruled = modelSourceHostRule(config)(url);
  if (ruled !== null) return { ok: false, detail: `The URL ${ruled}.` };
  if (url.hostname.toLowerCase() === HF_HOST && !HF_PINNED.test(url.pathname)) {
    return {
      ok: false,
      detail:
        "A Hugging Face URL must pin a commit: https://huggingface.co/<owner>/<repo>/resolve/<40-hex commit>/<file>, not a branch or tag such as main (the commit is on the file's page, under History).",
    };
  }
  return { ok: true, url };
}
