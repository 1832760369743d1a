/**
 * Access to a job's files (outputs, the latest preview): the owner's credentials, or a valid
 * short-lived signature (`expires` + `signature`, as minted by src/outputs/signed-url.ts) for
 * exactly that job and name. Anything else is a 401, or a 404 that says nothing about whether the
 * job exists.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { authenticate } from "../auth/authenticate.ts";
import { createDb } from "../db/client.ts";
import { getJob } from "../db/jobs.ts";
import type { JobRow } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { keysOf } from "../lib/key-list.ts";
import { MAX_SIGNATURE_CHARS, verifyOutputSignature } from "./signed-url.ts";

export const SignedUrlQuery = z
  .object({
    expires: z
      .string()
      .max(12)
      .optional()
      .openapi({ param: { name: "expires", in: "query" } }),
    signature: z
      .string()
      .max(MAX_SIGNATURE_CHARS)
      .optional()
      .openapi({ param: { name: "signature", in: "query" } }),
  })
  .strict();

export type SignedAccessEnv = AppEnv & { Variables: AppEnv["Variables"] & { signedJob?: JobRow } };

/**
 * Signed link → the job it names (in `c.var.signedJob`); otherwise the usual authentication.
 * `name` says which of the job's files the route serves (the signed name).
 */
export function signedJobAccess(name: (c: Context<SignedAccessEnv>) => string, refused: string) {
  return createMiddleware<SignedAccessEnv>(async function signedAccess(c, next) {
    const expires = c.req.query("expires");
    const signature = c.req.query("signature");
    if (expires === undefined && signature === undefined) return authenticate(c, next);
    const id = c.req.param("id") ?? "";
    const ok =
      expires !== undefined && signature !== undefined && (await verifyOutputSignature(id, name(c), expires, signature, keysOf(c.var.config.OUTPUT_URL_KEYS)));
    if (!ok) throw new ProblemError("unauthenticated", refused);
    const job = await getJob(createDb(c.env.DB), id);
    if (!job) throw new ProblemError("not-found", `Job ${id} has nothing here.`);
    c.set("signedJob", job);
    await next();
  });
}
