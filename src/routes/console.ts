/**
 * `/console`: the web console (console/, built by Vite into public/console/). The Worker serves it
 * from the static assets itself (run_worker_first), so the console's strict CSP and the security
 * headers apply to every file of it. Its file names carry a content hash, so they are cached for
 * good; every other path under /console is one of the console's own routes and gets its page.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { CONSOLE_CSP, pageHeaders } from "../http/page-security.ts";

const HEADERS = pageHeaders(CONSOLE_CSP);
const NOT_BUILT = "The console is missing from this deployment: run `npm run console:build` (npm ci does it) before deploying.";

export const consoleRoutes = new Hono<AppEnv>()
  .get("/console/assets/:file{.+}", async (c) => {
    const asset = await c.env.ASSETS.fetch(new URL(c.req.path, c.req.url));
    if (!asset.ok) return c.text("No such console file.", 404, HEADERS);
    return new Response(asset.body, {
      status: 200,
      headers: {
        ...HEADERS,
        "Content-Type": asset.headers.get("Content-Type") ?? "application/octet-stream",
        "Cache-Control": "public, max-age=31536000, immutable",
      },
    });
  })
  .get("/console/*", page)
  .get("/console", page);

async function page(c: { env: AppEnv["Bindings"]; req: { url: string } }): Promise<Response> {
  // The assets' HTML handling serves /console/index.html at /console/ (other spellings redirect).
  const index = await c.env.ASSETS.fetch(new URL("/console/", c.req.url));
  if (!index.ok) return new Response(NOT_BUILT, { status: 503, headers: { ...HEADERS, "Content-Type": "text/plain; charset=utf-8" } });
  return new Response(index.body, { status: 200, headers: { ...HEADERS, "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" } });
}
