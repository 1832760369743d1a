/**
 * The app's last line: every error, unknown route and wrong method becomes problem+json.
 * Unexpected exceptions are logged with the request id and answered with a bare 500 that quotes
 * it (never a stack trace).
 */
import type { Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env.ts";
import { createLogger, describeError } from "../lib/log.ts";
import { ProblemError, problemResponse } from "./problem.ts";

export function toProblem(err: unknown): ProblemError | null {
  if (err instanceof ProblemError) return err;
  if (err instanceof HTTPException) {
    switch (err.status) {
      case 400:
        return new ProblemError("malformed-json", "The request body is not valid JSON.");
      case 413:
        return new ProblemError("payload-too-large", "The request body is too large.");
      case 415:
        return new ProblemError("unsupported-media-type", "Send the body as JSON with `Content-Type: application/json`.");
      default:
        return null;
    }
  }
  return null;
}

export function onError(err: Error, c: Context<AppEnv>): Response {
  const requestId = c.get("requestId");
  const problem = toProblem(err);
  if (problem) return problemResponse(problem, requestId);
  (c.get("log") ?? createLogger("error", { request_id: requestId })).error("unhandled_error", {
    method: c.req.method,
    path: c.req.path,
    ...describeError(err),
  });
  return problemResponse(new ProblemError("internal-error", "Something went wrong on our side. Quote the request id when reporting it."), requestId);
}

/** 405 with `Allow` when the path exists under another method, otherwise 404. */
export function notFoundHandler(app: Hono<AppEnv>) {
  let routes: { method: string; pattern: RegExp }[] | undefined;
  return (c: Context<AppEnv>): Response => {
    routes ??= app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({
        method: r.method,
        pattern: new RegExp(`^${r.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\/:[^/]+/g, "/[^/]+")}/?$`),
      }));
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method))];
    const requestId = c.get("requestId");
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      return problemResponse(
        new ProblemError("method-not-allowed", `${c.req.method} is not supported here; use ${allowed.join(", ")}.`, {
          headers: { Allow: allowed.join(", ") },
        }),
        requestId,
      );
    }
    return problemResponse(new ProblemError("not-found", `No route ${c.req.method} ${c.req.path}. See /docs for the API.`), requestId);
  };
}
