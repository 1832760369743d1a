/**
 * `POST /v1/workflows/validate`: the checks a submit would run, without creating a job or taking a
 * slot — the workflow's shape, the tenant's pool rules, and what the pool's live hosts can run
 * (their published catalogs, src/workflows/pool-check.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { authenticate } from "../auth/authenticate.ts";
import { createDb } from "../db/client.ts";
import { estimateStartOf } from "../dispatch/route.ts";
import { tenantShard } from "../dispatch/shards.ts";
import { ProblemError } from "../http/problem.ts";
import { checkWorkflow } from "../jobs/workflow.ts";
import { resolveTenantModels } from "../models/tenant-refs.ts";
import { POOL_NAME_RE, POOL_NAME_RULE } from "../pools/name.ts";
import { resolveSubmitPool } from "../pools/pools.ts";
import { workflowNeeds } from "../workflows/needs.ts";
import { checkAgainstPool, poolPreflightOptions, publicError } from "../workflows/pool-check.ts";
import { SubmitJobBody } from "./jobs.schemas.ts";
import { commonProblems } from "./problem.schemas.ts";
import { newRouter, userSecurity } from "./router.ts";

const ValidateBody = z
  .object({
    workflow: SubmitJobBody.shape.workflow,
    pool: z.string().regex(POOL_NAME_RE, `a pool name: ${POOL_NAME_RULE}`).optional().openapi({
      description: "The pool to check against; default as for a submit: the tenant's default_pool, else DEFAULT_POOL.",
    }),
  })
  .strict()
  .openapi("ValidateWorkflow");

const ValidationError = z
  .object({
    pointer: z.string().openapi({ description: "RFC 6901 pointer into the request body, e.g. `/workflow/4/inputs/ckpt_name`." }),
    detail: z.string(),
    code: z.string().optional().openapi({ description: "ComfyUI's error type where it has one (`value_not_in_list`, `return_type_mismatch`, …)." }),
    node_id: z.string().optional(),
    class_type: z.string().optional(),
    input_name: z.string().optional(),
    value: z.unknown().optional().openapi({ description: "The literal value refused, for value errors." }),
  })
  .openapi("WorkflowValidationError");

const ValidationResult = z
  .object({
    valid: z.boolean().openapi({ description: "A submit of this workflow to `pool` would be accepted and some live host could run it." }),
    checked: z
      .boolean()
      .openapi({ description: "False when no live host of the pool has published its node catalog yet: only the workflow's shape was checked." }),
    pool: z.string(),
    eligible_hosts: z.number().int().openapi({ description: "Live hosts of the pool whose node classes and model files the workflow fits." }),
    errors: z.array(ValidationError).openapi({ description: "Every problem at once; empty when valid." }),
    estimated_start_seconds: z.number().int().nullable().openapi({
      description:
        "When valid: a rough wait before a job submitted now would start (0: a host that can run it has a free slot), from the queue ahead and the pool's recent GPU time per job. Null when it cannot be estimated (no live host can run it, no history yet, or not valid).",
    }),
  })
  .openapi("WorkflowValidation");

const validateRoute = createRoute({
  method: "post",
  path: "/validate",
  summary: "Check a workflow against a pool without submitting it",
  description:
    "Runs the submit's checks — the workflow's shape, the tenant's pools, and ComfyUI's own validation (classes, required inputs, types, ranges, combo values such as checkpoint and sampler names, links) against the node catalogs the pool's live hosts publish — and takes no admission slot. Problems with the workflow are answered in the body (`valid: false`); a request that cannot be checked (bad JSON, a pool the tenant may not use) is a 4xx problem.",
  tags: ["jobs"],
  security: userSecurity,
  middleware: [authenticate],
  request: { body: { required: true, content: { "application/json": { schema: ValidateBody } } } },
  responses: { 200: { description: "The verdict", content: { "application/json": { schema: ValidationResult } } }, ...commonProblems },
});

export const workflowRoutes = newRouter().openapi(validateRoute, async (c) => {
  const { config, principal } = c.var;
  const body = c.req.valid("json");
  const pool = await resolveSubmitPool(createDb(c.env.DB), config, principal.pools, body.pool);
  const shape = checkWorkflow(body.workflow, config.MAX_WORKFLOW_NODES);
  if (!shape.ok) return c.json({ valid: false, checked: true, pool: pool.name, eligible_hosts: 0, errors: shape.errors, estimated_start_seconds: null }, 200);
  // A `tenant:` name the tenant does not have (or a reserved `_t/` one) is a problem of the
  // workflow, answered in the body like every other.
  let privateModels: Awaited<ReturnType<typeof resolveTenantModels>>;
  try {
    privateModels = await resolveTenantModels(c.env, principal.tenantId, body.workflow);
  } catch (err) {
    if (!(err instanceof ProblemError) || (err.slug !== "unknown-model" && err.slug !== "invalid-input")) throw err;
    const errors = ((err.extensions?.errors as { pointer: string; detail: string }[] | undefined) ?? []).map((e) => ({
      ...e,
      code: err.slug === "unknown-model" ? "unknown_model" : "reserved_name",
    }));
    return c.json({ valid: false, checked: true, pool: pool.name, eligible_hosts: 0, errors, estimated_start_seconds: null }, 200);
  }
  const check = await checkAgainstPool(c.env, pool, privateModels.workflow, {
    ...poolPreflightOptions(pool),
    knownModels: new Set(privateModels.refs.map((r) => r.name)),
  });
  const needs = workflowNeeds(privateModels.workflow, check.models, pool.model_files, privateModels.refs);
  // The shard a job of this tenant would queue in (src/dispatch/route.ts says why that one).
  const estimate = check.valid ? await estimateStartOf(c.env, pool, tenantShard(principal.tenantId, pool.dispatcher_shards), needs) : null;
  // `value` is not in the documented shape: the route answers what its schema says.
  const errors = check.errors.map(({ value: _value, ...e }) => publicError(e));
  return c.json(
    {
      valid: check.valid,
      checked: check.checked,
      pool: pool.name,
      eligible_hosts: check.eligibleHosts.length,
      errors: errors as z.infer<typeof ValidationError>[],
      estimated_start_seconds: estimate,
    },
    200,
  );
});
