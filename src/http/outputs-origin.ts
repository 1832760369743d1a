/**
 * When outputs have an origin of their own (OUTPUTS_BASE_URL), that hostname serves output
 * downloads (and previews) and nothing else: the API, the docs and the admin routes answer 404 there. So a page
 * that ever ran on the files origin could not reach the API with it, and the separation holds in
 * both directions.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "./problem.ts";

/** Output downloads and sampler previews: bytes GPU hosts made, never served from the API's origin when it has its own. */
const DOWNLOAD = /^\/v1\/jobs\/[^/]+\/(outputs\/[^/]+|preview)$/;

export const outputsOriginOnly = createMiddleware<AppEnv>(async function outputsOriginOnly(c, next) {
  const base = c.var.config.OUTPUTS_BASE_URL;
  if (base !== "" && new URL(c.req.url).host === new URL(base).host && !(DOWNLOAD.test(c.req.path) && (c.req.method === "GET" || c.req.method === "HEAD"))) {
    throw new ProblemError("not-found", "This hostname serves job outputs only.");
  }
  await next();
});
