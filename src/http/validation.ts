/**
 * Turns zod validation failures into problems: body errors are 422 `validation-failed`, query and
 * path errors 400 `invalid-query`, each with a JSON pointer and a message per issue.
 */
import type { z } from "@hono/zod-openapi";
import { pointerToken } from "../jobs/workflow.ts";
import { ProblemError } from "./problem.ts";

interface HookResult {
  success: boolean;
  target: string;
  error?: z.ZodError;
}

function issues(error: z.ZodError, base: string) {
  return error.issues.slice(0, 50).map((issue) => ({
    pointer: base + issue.path.map((p) => `/${pointerToken(String(p))}`).join(""),
    detail: issue.message,
  }));
}

export function validationHook(result: HookResult): void {
  if (result.success || !result.error) return;
  const errors = issues(result.error, "");
  const first = errors[0];
  const where = first && first.pointer !== "" ? `${first.pointer}: ` : "";
  if (result.target === "json") {
    throw new ProblemError("validation-failed", `The request body is not valid: ${where}${first?.detail ?? "invalid"}.`, { extensions: { errors } });
  }
  const what = result.target === "param" ? "path" : result.target;
  throw new ProblemError("invalid-query", `Invalid ${what} parameter ${where}${first?.detail ?? "invalid"}.`, { extensions: { errors } });
}
