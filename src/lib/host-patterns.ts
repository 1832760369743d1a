/**
 * Host-name allow-lists written as settings (`MODEL_SOURCE_HOSTS`): comma-separated names, each
 * exact (`huggingface.co`) or a wildcard for its subdomains (`*.hf.co`: `cdn-lfs.hf.co`, not
 * `hf.co` itself). Matching is on the URL's parsed, lower-cased hostname; ports do not matter.
 */

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const PATTERN = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);

export interface HostPatterns {
  exact: ReadonlySet<string>;
  /** `.example.com` for `*.example.com`. */
  suffixes: readonly string[];
}

function entries(value: string): string[] {
  return value
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
}

/** True when `value` is a comma-separated list of host names or `*.`-wildcards (empty is fine). */
export function isHostPatternList(value: string): boolean {
  return entries(value).every((h) => PATTERN.test(h));
}

export function parseHostPatterns(value: string): HostPatterns {
  const list = entries(value);
  return {
    exact: new Set(list.filter((h) => !h.startsWith("*."))),
    suffixes: list.filter((h) => h.startsWith("*.")).map((h) => h.slice(1)),
  };
}

export function hostMatches(hostname: string, patterns: HostPatterns): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return patterns.exact.has(host) || patterns.suffixes.some((s) => host.endsWith(s) && host.length > s.length);
}
