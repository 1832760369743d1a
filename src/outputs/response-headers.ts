/**
 * The headers of every response of the output download route, so that no output — whatever a GPU
 * host put in it — can run script or be reinterpreted by a browser:
 *
 * - `Content-Security-Policy: default-src 'none'; sandbox`: opened as a page, an output loads
 *   nothing, runs nothing and lives in an opaque origin (never the API's or a console's, even when
 *   OUTPUTS_BASE_URL is not set);
 * - `X-Content-Type-Options: nosniff`: the browser takes our Content-Type and never guesses;
 * - `Content-Disposition`: `inline` only for the allow-listed types of src/media/output-type.ts.
 *   Any other stored type (including rows stored before uploads were sniffed) is served as
 *   `application/octet-stream` and as an attachment.
 *
 * Invariant: the served Content-Type is allow-listed or `application/octet-stream`; the two
 * security headers are on every response of the route, errors included.
 */
import { createMiddleware } from "hono/factory";
import { isAllowListedType, OPAQUE_CONTENT_TYPE } from "../media/output-type.ts";

export const OUTPUT_SECURITY_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; sandbox",
  "X-Content-Type-Options": "nosniff",
} as const;

/** Sets the security headers on whatever the route answers (the file, a 401, a 404, a 422…). */
export const outputSecurityHeaders = createMiddleware(async function outputSecurityHeaders(c, next) {
  await next();
  for (const [name, value] of Object.entries(OUTPUT_SECURITY_HEADERS)) c.res.headers.set(name, value);
});

export interface ServedType {
  contentType: string;
  disposition: "inline" | "attachment";
}

export function servedType(storedType: string): ServedType {
  return isAllowListedType(storedType) ? { contentType: storedType, disposition: "inline" } : { contentType: OPAQUE_CONTENT_TYPE, disposition: "attachment" };
}

const RFC5987_EXTRA = /['()*]/g;

/**
 * `inline; filename="…"` / `attachment; filename="…"`. The quoted name keeps only characters that
 * need no escaping (others become `_`), so no name can end the quoted string or add a parameter;
 * a name that lost characters also gets the exact one as RFC 6266 `filename*`.
 */
export function contentDisposition(disposition: ServedType["disposition"], filename: string): string {
  const safe = filename.replace(/[^A-Za-z0-9._-]/g, "_") || "output";
  const header = `${disposition}; filename="${safe}"`;
  if (safe === filename || filename === "") return header;
  const exact = encodeURIComponent(filename.toWellFormed()).replace(RFC5987_EXTRA, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${header}; filename*=UTF-8''${exact}`;
}
