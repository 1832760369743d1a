/**
 * A pool's model-file policy: whether a job's model files must already be on a host.
 *
 * - `required` (the default): pre-flight refuses a workflow naming a model file no live host of
 *   the pool has (422 `missing-model`), and the Dispatcher places a job only on a host that has
 *   every one.
 * - `on_demand`: hosts fetch model files when a job needs them (the models registry), so neither
 *   check applies to model files (node classes and every other input still are); placement still
 *   prefers a host that holds them (model affinity).
 */
export const MODEL_FILES_POLICIES = ["required", "on_demand"] as const;
export type ModelFilesPolicy = (typeof MODEL_FILES_POLICIES)[number];
