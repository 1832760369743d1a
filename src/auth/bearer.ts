/** Reads `Authorization: Bearer <token>` (RFC 6750) and builds the matching challenge header. */

export type BearerToken = { kind: "ok"; value: string } | { kind: "missing" } | { kind: "malformed" };

export function bearerToken(header: string | undefined): BearerToken {
  if (header === undefined || header.trim() === "") return { kind: "missing" };
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return m ? { kind: "ok", value: m[1]! } : { kind: "malformed" };
}

export function challenge(err?: { error: "invalid_request" | "invalid_token"; description: string }): string {
  const base = 'Bearer realm="comfyui-saas"';
  if (!err) return base;
  // The description is our own fixed text; strip quotes anyway so the header stays well-formed.
  return `${base}, error="${err.error}", error_description="${err.description.replaceAll('"', "'")}"`;
}
