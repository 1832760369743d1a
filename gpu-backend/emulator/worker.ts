/**
 * The prompt worker (main.py `prompt_worker`): one prompt at a time, in queue order.
 *
 * For each item: execute, write the history entry (which broadcasts `status`), and only then
 * send `executing {node: null}` to the prompt's client — so a client that sees it can always
 * read `/history/{id}`. Between prompts it applies `/free` flags (unload the models, drop the cache).
 */
import { appendFileSync } from "node:fs";
import { PromptExecutor } from "./executor.ts";
import { EmulatorStopped } from "./lifecycle.ts";
import { pyTruthy } from "./py/values.ts";
import type { Runtime } from "./runtime.ts";

export async function runPromptWorker(rt: Runtime): Promise<void> {
  const executor = new PromptExecutor(rt);
  const { signal } = rt.lifecycle;
  while (!signal.aborted) {
    const next = await rt.queue.get(signal);
    if (next) {
      const { item, taskId } = next;
      const [, promptId, prompt, extraData, outputs] = item;
      const started = performance.now();
      rt.session.lastPromptId = promptId;
      let result;
      try {
        result = await executor.execute(prompt as Parameters<PromptExecutor["execute"]>[0], promptId, extraData, outputs);
      } catch (err) {
        if (err instanceof EmulatorStopped) return;
        throw err;
      }
      if (signal.aborted) return;
      rt.queue.taskDone(
        taskId,
        { outputs: result.outputs, meta: result.meta },
        { status_str: result.success ? "success" : "error", completed: result.success, messages: result.messages },
      );
      const clientId = rt.session.clientId;
      if (clientId !== null) rt.hub.send("executing", { node: null, prompt_id: promptId }, clientId);
      if (rt.config.executionLog) recordExecution(rt.config.executionLog, promptId, prompt, result.success, result.messages);
      rt.log(`Prompt executed in ${((performance.now() - started) / 1000).toFixed(2)} seconds`);
    }
    const flags = rt.queue.takeFlags();
    // flags.get("unload_models", free_memory): free_memory alone unloads the models too.
    const unload = Object.hasOwn(flags, "unload_models") ? flags.unload_models : flags.free_memory;
    if (pyTruthy(unload)) rt.models.memory.unloadAll();
    if (pyTruthy(flags.free_memory)) executor.reset();
  }
}

/** `executionLog`: one line per finished prompt, written synchronously so a crash right after cannot lose it. */
function recordExecution(file: string, promptId: unknown, prompt: unknown, success: boolean, messages: readonly unknown[]): void {
  const interrupted = messages.some((m) => Array.isArray(m) && m[0] === "execution_interrupted");
  const status = success ? "success" : "error";
  appendFileSync(file, `${JSON.stringify({ prompt_id: promptId, status, interrupted, prompt })}\n`);
}
