/** Every route module builds its router here, so validation errors look the same everywhere. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { validationHook } from "../http/validation.ts";

export function newRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: (result) => validationHook(result) });
}

/** OpenAPI security requirement of end-user routes. */
export const userSecurity: Record<string, string[]>[] = [{ apiKey: [], userId: [] }, { jwt: [] }];
/** OpenAPI security requirement of admin routes. */
export const adminSecurity: Record<string, string[]>[] = [{ adminToken: [] }];
