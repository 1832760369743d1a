/**
 * Guards `/v1/admin/*`: `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time.
 * There is no other way in and no switch that turns the check off.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { constantTimeEqual } from "../lib/crypto.ts";
import { bearerToken, challenge } from "./bearer.ts";

/** Whether the request carries the admin token (for routes that show more to operators). */
export async function isAdmin(authorization: string | undefined, adminToken: string): Promise<boolean> {
  const token = bearerToken(authorization);
  return token.kind === "ok" && (await constantTimeEqual(token.value, adminToken));
}

export const requireAdmin = createMiddleware<AppEnv>(async function requireAdmin(c, next) {
  const token = bearerToken(c.req.header("Authorization"));
  if (token.kind !== "ok" || !(await constantTimeEqual(token.value, c.var.config.ADMIN_TOKEN))) {
    c.var.log.warn("admin_auth_failed", { reason: token.kind === "ok" ? "wrong_token" : token.kind });
    throw new ProblemError("unauthenticated", "Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`.", {
      headers: { "WWW-Authenticate": challenge(token.kind === "ok" ? { error: "invalid_token", description: "unknown admin token" } : undefined) },
    });
  }
  await next();
});
