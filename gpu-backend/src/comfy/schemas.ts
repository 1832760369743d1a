/**
 * zod schemas of the ComfyUI 0.3.64 responses and WebSocket messages gpu-backend relies on
 * (shared/research/comfyui-protocol.md §1–2). They check only what we read and let everything
 * else through, so a newer ComfyUI that adds fields (a 6th queue-tuple element, new events)
 * still parses, while a response of the wrong shape fails loudly instead of being guessed at.
 */
import { z } from "zod";

export const PromptError = z.object({ type: z.string(), message: z.string(), details: z.string(), extra_info: z.unknown() }).passthrough();

/** `node_errors`: `{node_id: {errors, dependent_outputs, class_type}}` (old releases sent `[]`). */
export const NodeErrors = z.union([
  z.record(z.string(), z.unknown()),
  z
    .array(z.unknown())
    .max(0)
    .transform(() => ({})),
]);

export const PostPromptOk = z.object({ prompt_id: z.string(), number: z.number(), node_errors: NodeErrors.default({}) }).passthrough();
/** Older releases answered a missing prompt with `"error": "no prompt"` (a string). */
export const PostPromptRejected = z.object({ error: z.union([PromptError, z.string()]), node_errors: NodeErrors.default({}) }).passthrough();

/** `[number, prompt_id, prompt, extra_data, outputs_to_execute, ...]`, read by index. */
const QueueItem = z
  .array(z.unknown())
  .min(2)
  .transform((item, ctx) => {
    if (typeof item[1] !== "string") {
      ctx.addIssue({ code: "custom", message: "queue item without a prompt id" });
      return z.NEVER;
    }
    const extra = item[3];
    const clientId =
      typeof extra === "object" && extra !== null && typeof (extra as { client_id?: unknown }).client_id === "string"
        ? (extra as { client_id: string }).client_id
        : undefined;
    return { number: typeof item[0] === "number" ? item[0] : 0, promptId: item[1], clientId };
  });
export const QueueState = z.object({ queue_running: z.array(QueueItem), queue_pending: z.array(QueueItem) }).passthrough();
export type QueueState = z.output<typeof QueueState>;

const StatusMessage = z.tuple([z.string(), z.record(z.string(), z.unknown())]).rest(z.unknown());
export const HistoryEntry = z
  .object({
    outputs: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    status: z
      .object({ status_str: z.string(), completed: z.boolean(), messages: z.array(StatusMessage).default([]) })
      .passthrough()
      .nullable()
      .default(null),
  })
  .passthrough();
export type HistoryEntry = z.output<typeof HistoryEntry>;
export const HistoryReply = z.record(z.string(), HistoryEntry);

export const UploadReply = z.object({ name: z.string().min(1), subfolder: z.string().default(""), type: z.string() }).passthrough();

export const SystemStats = z
  .object({ system: z.object({ comfyui_version: z.string().optional() }).passthrough(), devices: z.array(z.unknown()) })
  .passthrough();

/**
 * `/object_info`: class name → entry, checked but never rebuilt. An object schema would put its
 * own keys first (`output_node` ahead of `input`), and the host publishes this document as
 * ComfyUI wrote it, key order included (src/catalog.ts).
 */
export const ObjectInfo = z.record(
  z.string(),
  z
    .record(z.string(), z.unknown())
    .refine((entry) => entry.output_node === undefined || typeof entry.output_node === "boolean", "output_node must be a boolean"),
);

/** Every text frame is `{"type": …, "data": {…}}`. */
export const WsMessage = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()).default({}) }).passthrough();
export type WsMessage = z.output<typeof WsMessage>;

export const ProgressData = z.object({ value: z.number(), max: z.number(), prompt_id: z.string(), node: z.string().nullable().optional() }).passthrough();

/** `execution_cached`: the nodes ComfyUI answers from its cache in this run (ids as strings). */
export const ExecutionCachedData = z.object({ nodes: z.array(z.union([z.string(), z.number()]).transform(String)), prompt_id: z.string() }).passthrough();

/**
 * `progress_state`: the state of every node of the prompt that is not pending (comfy_execution/
 * progress.py NodeState: `running` or `finished`, `error` after a failure).
 */
export const ProgressStateData = z
  .object({
    prompt_id: z.string(),
    nodes: z.record(z.string(), z.object({ state: z.string(), value: z.number(), max: z.number() }).passthrough()),
  })
  .passthrough();
