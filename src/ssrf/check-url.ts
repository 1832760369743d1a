/**
 * The full pre-connect check of one URL: the static policy (url-policy.ts), then, for a host name,
 * DNS — refused when the name does not resolve or when ANY of its A/AAAA answers is not public
 * unicast (one bad answer is enough, since the runtime may connect to any of them).
 *
 * A caller's `hostRule` (an allow-list of its own) is applied to every URL before DNS.
 * Allow-listed `host:port` entries and IP literals skip DNS (there is nothing to resolve, or the
 * dev/test allow-list says so). The resolver is injectable; tests never touch real DNS.
 * Invariant: `ok: true` means every check passed for `url.href` at this moment; nothing more (see
 * dns.ts for the rebinding window a Worker cannot close).
 */
import { dohResolver, type Resolver } from "./dns.ts";
import { classifyAddressText } from "./ip-ranges.ts";
import { type Refusal, refuse, type UrlRefusalReason } from "./refusal.ts";
import { checkUrlPolicy, type UrlPolicy } from "./url-policy.ts";

export interface CheckUrlOptions extends UrlPolicy {
  /** Defaults to DNS-over-HTTPS at Cloudflare (dns.ts). */
  resolver?: Resolver;
  /** Aborting rejects the returned promise with the signal's reason (it is not a refusal). */
  signal?: AbortSignal;
  /**
   * A caller's own host rule (e.g. MODEL_SOURCE_HOSTS), applied to every URL that passes the static
   * policy, allow-listed ones included, before any DNS: null to go on, else the rest of a sentence
   * after the subject ("is on evil.example, which …"), refused as `host`.
   */
  hostRule?: (url: URL) => string | null;
}

export type UrlVerdict = { ok: true; url: URL; allowListed: boolean } | Refusal<UrlRefusalReason>;

let defaultResolver: Resolver | undefined;

export async function checkUrl(input: string | URL, options: CheckUrlOptions = {}, subject = "The URL"): Promise<UrlVerdict> {
  const policy = checkUrlPolicy(input, options, subject);
  if (!policy.ok) return policy;
  const { url, target } = policy;
  const ruled = options.hostRule?.(url) ?? null;
  if (ruled !== null) return refuse("host", `${subject} ${ruled}.`);
  if (target.kind !== "name") return { ok: true, url, allowListed: target.kind === "allow-listed" };

  defaultResolver ??= dohResolver();
  const resolver = options.resolver ?? defaultResolver;
  let addresses: string[];
  try {
    addresses = await resolver.resolve(target.name, options.signal);
  } catch {
    // Our caller's deadline or cancellation is theirs to report; anything else is a DNS failure.
    if (options.signal?.aborted) throw options.signal.reason;
    return refuse("dns", `${subject} has a host name, ${target.name}, that could not be resolved; check it and try again.`);
  }
  if (addresses.length === 0) {
    return refuse("dns", `${subject} has a host name, ${target.name}, that has no IP addresses; check the host name.`);
  }
  for (const address of addresses) {
    const verdict = classifyAddressText(address);
    if (!verdict.allowed) {
      // Echo the answer only when it is plainly an address; resolver text is not ours to repeat.
      const shown = /^[0-9A-Fa-f.:]{2,45}$/.test(address) ? address : "an invalid address";
      return refuse(
        "private-address",
        `${subject} has a host name, ${target.name}, that resolves to ${shown}, a non-public address (${verdict.range}); use a publicly reachable URL.`,
      );
    }
  }
  return { ok: true, url, allowListed: false };
}
