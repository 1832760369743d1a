/**
 * What a finished prompt's history entry means for the job: success, a node error (with
 * out-of-memory told apart), or an interrupt. The history entry is the authority — it is written
 * before ComfyUI's final WebSocket event and survives a dropped socket.
 */
import type { JobFailure } from "../../../src/protocol/messages.ts";
import type { HistoryEntry } from "../comfy/schemas.ts";

export type PromptOutcome = { kind: "success" } | { kind: "failed"; failure: JobFailure } | { kind: "interrupted" };

const OOM_TEXT = [/out of memory/i, /ran out of memory on your GPU/i, /OutOfMemoryError/, /CUDA error: out of memory/i, /Allocation on device/i];
const MAX_MESSAGE = 3_900;
const MAX_TRACEBACK_LINES = 30;

export function isOutOfMemory(exceptionType: string, message: string): boolean {
  return /OutOfMemoryError/.test(exceptionType) || OOM_TEXT.some((re) => re.test(message));
}

export function classifyHistory(entry: HistoryEntry): PromptOutcome {
  const messages = entry.status?.messages ?? [];
  if (entry.status?.status_str === "success" && entry.status.completed) return { kind: "success" };
  const error = messages.find(([event]) => event === "execution_error")?.[1];
  if (error) {
    const exceptionType = String(error.exception_type ?? "");
    const exceptionMessage = String(error.exception_message ?? "");
    const traceback = Array.isArray(error.traceback) ? error.traceback.map(String).slice(-MAX_TRACEBACK_LINES) : [];
    const details = {
      node_id: error.node_id ?? null,
      node_type: error.node_type ?? null,
      exception_type: exceptionType,
      exception_message: exceptionMessage,
      traceback,
    };
    const oom = isOutOfMemory(exceptionType, exceptionMessage);
    const head = `${error.node_type ?? "node"} ${String(error.node_id ?? "?")}: ${exceptionType}: ${exceptionMessage.trim()}`;
    return { kind: "failed", failure: { code: oom ? "out_of_memory" : "execution_error", message: head.slice(0, MAX_MESSAGE), details } };
  }
  if (messages.some(([event]) => event === "execution_interrupted")) return { kind: "interrupted" };
  return {
    kind: "failed",
    failure: { code: "execution_error", message: `ComfyUI reported status ${entry.status?.status_str ?? "unknown"} without an error message` },
  };
}

/** `invalid_workflow` from a 400 (or a 200 with node_errors): ComfyUI's own details, unchanged. */
export function invalidWorkflow(error: unknown, nodeErrors: Record<string, unknown>): JobFailure {
  let message = "ComfyUI refused the workflow";
  if (typeof error === "object" && error !== null) {
    const e = error as { message?: unknown; details?: unknown };
    message = [e.message, e.details].filter((x) => typeof x === "string" && x !== "").join(": ") || message;
  } else if (typeof error === "string" && error !== "") message = error;
  const nodes = Object.entries(nodeErrors)
    .map(([id, ne]) => {
      const errs = (ne as { errors?: Array<{ message?: string; details?: string }> }).errors ?? [];
      return `node ${id}: ${errs.map((e) => [e.message, e.details].filter(Boolean).join(" - ")).join("; ")}`;
    })
    .join("\n");
  return { code: "invalid_workflow", message: (nodes ? `${message}\n${nodes}` : message).slice(0, MAX_MESSAGE), details: { error, node_errors: nodeErrors } };
}
