/** OpenAPI description of problem+json responses, shared by every route. */
import { z } from "@hono/zod-openapi";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "https://comfyui-saas.dev/problems/not-found" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
  })
  .passthrough()
  .openapi("Problem");

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** Responses every authenticated route can give. */
export const commonProblems = {
  400: problem("Malformed request (bad JSON, invalid X-User-ID, bad query)"),
  401: problem("Missing or invalid credentials"),
  413: problem("Body too large"),
  415: problem("Body is not JSON"),
  422: problem("Body breaks the schema"),
  500: problem("Bug; quote request_id"),
  503: problem("A dependency is unavailable, or the deployment is misconfigured"),
} as const;

export const notFoundProblem = { 404: problem("No such resource visible to the caller") } as const;
export const conflictProblem = { 409: problem("Conflicts with the resource's state") } as const;
export const rateLimitedProblem = {
  429: problem("An admission limit was hit; the problem type names it, with `limit`, `current` and `Retry-After`"),
} as const;
export const modelQuotaProblem = { 403: problem("The tenant's private model files would exceed its quota; `limit` and `current` say which") } as const;
