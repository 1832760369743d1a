/**
 * `Prefer: wait=N` (RFC 7240 §4.3): the client would rather wait up to N seconds for the job to
 * end than poll. Preferences the server does not know, or a malformed value, are ignored (the RFC
 * says so); the wait is capped at PREFER_WAIT_MAX_SECONDS.
 */
export function preferredWaitSeconds(header: string | undefined, max: number): number | undefined {
  if (!header) return undefined;
  // Several Prefer headers arrive joined by ", "; each preference is `token[=value][;params]`.
  for (const part of header.split(",")) {
    const [pref] = part.split(";");
    const m = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*$/i.exec(pref ?? "");
    if (m) {
      const n = Number(m[1]);
      return n === 0 ? undefined : Math.min(n, max);
    }
  }
  return undefined;
}
