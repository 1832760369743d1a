/**
 * The security headers of the API's own web pages (/docs, /console): they load their own scripts,
 * styles and data only, from this origin, and cannot be framed. One base policy; a page that needs
 * more says which single directive it relaxes and why.
 */
const BASE_CSP: Readonly<Record<string, string>> = {
  "default-src": "'none'",
  "script-src": "'self'",
  "style-src": "'self'",
  "img-src": "'self' data: blob:",
  "media-src": "'self'",
  "font-src": "'self' data:",
  "connect-src": "'self'",
  "manifest-src": "'self'",
  "base-uri": "'none'",
  "form-action": "'none'",
  "frame-ancestors": "'none'",
};

const render = (policy: Record<string, string>) =>
  Object.entries(policy)
    .map(([k, v]) => `${k} ${v}`)
    .join("; ");

/** The console: the base policy as it is (no inline script or style at all). */
export const CONSOLE_CSP = render(BASE_CSP);

/** /docs: Scalar sets element styles at run time, so inline styles are allowed there (scripts are not). */
export const DOCS_CSP = render({ ...BASE_CSP, "style-src": "'self' 'unsafe-inline'" });

export const pageHeaders = (csp: string) =>
  ({
    "Content-Security-Policy": csp,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
  }) as const;
