/**
 * First middleware after the request id: loads the config (once per isolate) and a request-scoped
 * logger. A deployment whose config is invalid refuses every route with 503 `misconfigured`
 * naming what is wrong, and says so in the log.
 */
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../config/load.ts";
import type { AppEnv } from "../env.ts";
import { createLogger } from "../lib/log.ts";
import { ProblemError } from "./problem.ts";

const reported = new WeakSet<object>();

export const requestContext = createMiddleware<AppEnv>(async function requestContext(c, next) {
  const requestId = c.get("requestId");
  const result = loadConfig(c.env);
  if (!result.ok) {
    if (!reported.has(c.env)) {
      reported.add(c.env);
      createLogger("error").error("misconfigured", { problems: result.problems });
    }
    throw new ProblemError("misconfigured", `The service is misconfigured: ${result.problems.join("; ")}.`, {
      extensions: { problems: result.problems },
      headers: { "Retry-After": "60" },
    });
  }
  c.set("config", result.config);
  c.set("log", createLogger(result.config.LOG_LEVEL, { request_id: requestId }));
  await next();
});
