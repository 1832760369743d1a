/**
 * `/docs`: the API reference (Scalar's, rendering `/openapi.json`), entirely from this Worker. The
 * page's script is the npm package's browser bundle at the version package-lock.json pins, copied
 * into the static assets by scripts/vendor-assets.ts and served here through the ASSETS binding;
 * the CSP lets the page load nothing from anywhere else, and Scalar's web fonts are off (they would
 * come from its CDN), as are its hosted extras (developer tools, the AI agent). Nothing is fetched at view time from a third party, and no third-party code
 * runs that was not shipped with this deployment.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { DOCS_CSP, pageHeaders } from "../http/page-security.ts";

const PAGE_HEADERS = pageHeaders(DOCS_CSP);

const SCRIPT_PATH = "/docs/api-reference.js";

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>comfyui-saas API</title>
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json" data-configuration='{"withDefaultFonts":false,"hideClientButton":true,"showDeveloperTools":"never","agent":{"disabled":true}}'></script>
    <script src="${SCRIPT_PATH}"></script>
  </body>
</html>
`;

export const docsRoutes = new Hono<AppEnv>()
  .get("/docs", (c) => c.html(page, 200, { ...PAGE_HEADERS, "Cache-Control": "no-cache" }))
  .get(SCRIPT_PATH, async (c) => {
    const asset = await c.env.ASSETS.fetch(new URL("/vendor/scalar-api-reference.js", c.req.url));
    if (!asset.ok) return c.text("The API reference bundle is missing from this deployment (run npm ci: scripts/vendor-assets.ts).", 503);
    return new Response(asset.body, {
      status: 200,
      headers: { ...PAGE_HEADERS, "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=3600" },
    });
  });
