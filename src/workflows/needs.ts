/**
 * What a job needs of the host that runs it (issue 13.4): the node class of every node (ComfyUI
 * refuses a graph with any unknown class, reachable or not) and the model files it names. The
 * model files come from pre-flight when the pool's catalogs were checked (the values of
 * model-file combos on nodes an output reaches); when no catalog was there to check against, any
 * string value that is a model file name counts, so a job never lands where its checkpoint is
 * missing because nothing told the edge which inputs hold models. In a pool whose hosts fetch
 * model files on demand, the files are still listed (for affinity) but not required.
 */
import type { JobNeeds } from "../dispatch/placement.ts";
import type { ModelFilesPolicy } from "../pools/model-files.ts";
import { isPrivateModelName } from "../protocol/private-models.ts";
import { isModelFileName } from "./catalog.ts";

/** Bounds on what a job may name (a workflow has at most MAX_WORKFLOW_NODES nodes anyway). */
const MAX_NAMES = 2_000;

export function workflowNeeds(
  workflow: Record<string, unknown>,
  checkedModels: readonly string[] | undefined,
  modelFiles: ModelFilesPolicy = "required",
  privateModels: NonNullable<JobNeeds["privateModels"]> = [],
): JobNeeds {
  const classes = new Set<string>();
  const models = new Set<string>(checkedModels ?? []);
  for (const node of Object.values(workflow)) {
    if (typeof node !== "object" || node === null) continue;
    const { class_type: classType, inputs } = node as { class_type?: unknown; inputs?: unknown };
    if (typeof classType === "string") classes.add(classType);
    if (checkedModels !== undefined || typeof inputs !== "object" || inputs === null) continue;
    for (const value of Object.values(inputs)) if (typeof value === "string" && isModelFileName(value) && !isPrivateModelName(value)) models.add(value);
  }
  const needs: JobNeeds = { classes: [...classes].sort().slice(0, MAX_NAMES), models: [...models].sort().slice(0, MAX_NAMES) };
  return {
    ...needs,
    ...(modelFiles === "on_demand" ? { modelsOnDemand: true } : {}),
    ...(privateModels.length > 0 ? { privateModels } : {}),
  };
}
