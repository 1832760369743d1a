/**
 * PromptExecutor (execution.py): runs one prompt and produces its events and history result.
 *
 * Event order per prompt (the §2.5 sequence): `execution_start`, `execution_cached`, then per
 * node `progress_state` (running) → `executing` → [`progress_state` + `progress` per step] →
 * [`executed` if it has UI output] → `progress_state` (finished); a cached output node only
 * re-sends `executed` and `progress_state`; then `execution_success`, or `execution_error` /
 * `execution_interrupted` at the failing node. The worker then writes history, broadcasts
 * `status` and sends `executing {node: null}`.
 *
 * Routing as in ComfyUI: with a client_id everything goes to that sid only; without one,
 * `execution_*`, `executing` and `executed` are not sent at all while `progress`,
 * `progress_state`, previews and `execution_interrupted` are broadcast.
 */
import { OutputCache, type UiEntry } from "./cache.ts";
import { ExecutionList, isLink } from "./execution-list.ts";
import { InterruptProcessingException } from "./interrupt.ts";
import { EmulatorStopped } from "./lifecycle.ts";
import { encodeSolidJpeg } from "./media/jpeg.ts";
import { OOM_EXCEPTION_TYPE } from "./nodes/oom.ts";
import type { InputTypes, NodeDefinition, NodeRunContext, PreviewFrame } from "./nodes/types.ts";
import { ProgressRegistry } from "./progress.ts";
import { pyJsonDumps } from "./py/json.ts";
import { isPlainObject, PyException, pyStr } from "./py/values.ts";
import { catalogContext, type Runtime, sidOf } from "./runtime.ts";
import { formatFrames, nodeCallFrames } from "./traceback.ts";

type Prompt = Record<string, { class_type: string; inputs?: Record<string, unknown> }>;
export type StatusMessage = [string, Record<string, unknown>];

export interface ExecutionResult {
  success: boolean;
  messages: StatusMessage[];
  outputs: Map<string, Record<string, unknown[]>>;
  meta: Map<string, UiEntry["meta"]>;
}

const OOM_TIPS =
  "This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.";

/** Binary frame types (protocol.py). */
const PREVIEW_IMAGE = 1;
const PREVIEW_IMAGE_WITH_METADATA = 4;

type NodeOutcome =
  | { ok: true }
  | { ok: false; interrupted: true; nodeId: string }
  | { ok: false; interrupted: false; nodeId: string; error: Record<string, unknown> };

export class PromptExecutor {
  private readonly rt: Runtime;
  private cache: OutputCache;
  private objects = new Map<string, Record<string, unknown>>();

  constructor(rt: Runtime) {
    this.rt = rt;
    this.cache = new OutputCache(rt.config.cache);
  }

  /** `/free {"free_memory": true}`: a fresh cache set. */
  reset(): void {
    this.cache = new OutputCache(this.rt.config.cache);
    this.objects = new Map();
  }

  async execute(prompt: Prompt, promptId: string, extraData: Record<string, unknown>, executeOutputs: string[]): Promise<ExecutionResult> {
    const { rt } = this;
    rt.interrupt.clear();
    const clientId = Object.hasOwn(extraData, "client_id") ? sidOf(extraData.client_id) : null;
    rt.session.clientId = clientId;
    const messages: StatusMessage[] = [];
    const addMessage = (event: string, data: Record<string, unknown>, broadcast: boolean) => {
      const stamped = { ...data, timestamp: Date.now() };
      messages.push([event, stamped]);
      if (clientId !== null || broadcast) rt.hub.send(event, stamped, clientId);
    };

    addMessage("execution_start", { prompt_id: promptId }, false);
    const progress = new ProgressRegistry(promptId, (data) => rt.hub.send("progress_state", data, clientId));
    const catalogCtx = catalogContext(rt);
    this.cache.setPrompt(prompt, rt.catalog, catalogCtx);
    this.dropStaleObjects(prompt);
    const isCached = (id: string) => this.cache.getOutputs(id) !== undefined;
    addMessage("execution_cached", { nodes: Object.keys(prompt).filter(isCached), prompt_id: promptId }, false);

    const executed = new Set<string>();
    const list = new ExecutionList(prompt, rt.catalog, isCached);
    const currentOutputs = this.cache.nodeIds();
    for (const id of executeOutputs) list.addNode(id);

    let success = true;
    while (!list.isEmpty()) {
      const nodeId = list.stage();
      if (nodeId === undefined) {
        success = false;
        const [blamed = ""] = executeOutputs;
        addMessage(
          "execution_error",
          this.errorMessage(promptId, prompt, blamed, executed, currentOutputs, {
            exception_message: "Dependency cycle detected",
            exception_type: "graph.DependencyCycleError",
            traceback: [],
            current_inputs: [],
          }),
          false,
        );
        break;
      }
      const outcome = await this.executeNode(prompt, nodeId, promptId, extraData, clientId, progress, executed);
      success = outcome.ok;
      if (!outcome.ok) {
        if (outcome.interrupted) {
          const classType = prompt[outcome.nodeId]?.class_type;
          addMessage("execution_interrupted", { prompt_id: promptId, node_id: outcome.nodeId, node_type: classType, executed: [...executed] }, true);
        } else {
          addMessage("execution_error", this.errorMessage(promptId, prompt, outcome.nodeId, executed, currentOutputs, outcome.error), false);
        }
        break;
      }
      list.complete();
    }
    if (success) addMessage("execution_success", { prompt_id: promptId }, false);

    const outputs = new Map<string, Record<string, unknown[]>>();
    const meta = new Map<string, UiEntry["meta"]>();
    for (const id of this.cache.nodeIds()) {
      const ui = this.cache.getUi(id);
      if (!ui) continue;
      outputs.set(id, ui.output);
      meta.set(id, ui.meta);
    }
    rt.session.lastNodeId = null;
    return { success, messages, outputs, meta };
  }

  private errorMessage(
    promptId: string,
    prompt: Prompt,
    nodeId: string,
    executed: Set<string>,
    currentOutputs: string[],
    error: Record<string, unknown>,
  ): Record<string, unknown> {
    return {
      prompt_id: promptId,
      node_id: nodeId,
      node_type: prompt[nodeId]?.class_type,
      executed: [...executed],
      exception_message: error.exception_message,
      exception_type: error.exception_type,
      traceback: error.traceback,
      current_inputs: error.current_inputs,
      current_outputs: currentOutputs,
    };
  }

  private async executeNode(
    prompt: Prompt,
    nodeId: string,
    promptId: string,
    extraData: Record<string, unknown>,
    clientId: string | null,
    progress: ProgressRegistry,
    executed: Set<string>,
  ): Promise<NodeOutcome> {
    const { rt } = this;
    const node = prompt[nodeId] as Prompt[string];
    const def = rt.catalog.get(node.class_type) as NodeDefinition;

    if (this.cache.getOutputs(nodeId) !== undefined) {
      if (clientId !== null) {
        rt.hub.send("executed", { node: nodeId, display_node: nodeId, output: this.cache.getUi(nodeId)?.output ?? null, prompt_id: promptId }, clientId);
      }
      progress.finish(nodeId);
      return { ok: true };
    }

    let inputData: Map<string, unknown[]> | undefined;
    try {
      progress.start(nodeId);
      const types = def.inputTypes(catalogContext(rt));
      const gathered = this.gatherInputs(node, types, prompt, extraData, nodeId);
      inputData = gathered.data;
      if (clientId !== null) {
        rt.session.lastNodeId = nodeId;
        rt.hub.send("executing", { node: nodeId, display_node: nodeId, prompt_id: promptId }, clientId);
      }
      rt.counters.nodesStarted += 1;
      if (rt.config.crashAtNode === rt.counters.nodesStarted) rt.lifecycle.crash(rt.config.crashExitCode);
      if (gathered.unexpected !== undefined) {
        throw new PyException("TypeError", `${def.classType}.${def.functionName}() got an unexpected keyword argument '${gathered.unexpected}'`);
      }
      rt.interrupt.throwIfSet(); // nodes.before_node_execution()
      if (rt.config.nodeMs > 0) await rt.lifecycle.sleep(rt.config.nodeMs);
      const ctx = this.runContext(nodeId, promptId, prompt, extraData, clientId, progress);
      const result = await def.run(gathered.args, ctx);
      const ui = result.ui ?? {};
      if (Object.keys(ui).length > 0) {
        this.cache.setUi(nodeId, { meta: { node_id: nodeId, display_node: nodeId, parent_node: null, real_node_id: nodeId }, output: ui });
        if (clientId !== null) rt.hub.send("executed", { node: nodeId, display_node: nodeId, output: ui, prompt_id: promptId }, clientId);
      }
      this.cache.setOutputs(
        nodeId,
        (result.result ?? []).map((value) => [value]),
      );
    } catch (err) {
      if (err instanceof EmulatorStopped) throw err;
      if (err instanceof InterruptProcessingException) {
        rt.log("Processing interrupted");
        return { ok: false, interrupted: true, nodeId };
      }
      const ex = err instanceof PyException ? err : new PyException(`emulator.${(err as Error).name ?? "Error"}`, String((err as Error).message ?? err));
      rt.log(`!!! Exception during processing !!! ${ex.message}`);
      const isOom = ex.pyType === OOM_EXCEPTION_TYPE;
      if (isOom) {
        rt.log("Got an OOM, unloading all loaded models.");
        rt.models.memory.unloadAll();
      }
      const currentInputs: Record<string, unknown[]> = {};
      for (const [name, values] of inputData ?? []) currentInputs[name] = values.map(formatValue);
      const nodeFrame = { file: def.sourceFile, line: 1, fn: def.functionName };
      return {
        ok: false,
        interrupted: false,
        nodeId,
        error: {
          exception_message: `${ex.message}\n${isOom ? OOM_TIPS : ""}`,
          exception_type: ex.pyType,
          traceback: formatFrames([...nodeCallFrames((inputData?.size ?? 0) > 0), nodeFrame, ...ex.frames]),
          current_inputs: currentInputs,
        },
      };
    }
    progress.finish(nodeId);
    executed.add(nodeId);
    return { ok: true };
  }

  /**
   * `get_input_data`: `data` is what `current_inputs` reports (lists, hidden inputs included),
   * `args` what the node function receives. Links are followed whatever the input's name — an
   * undeclared one then fails the call, as `f(**inputs)` does in Python.
   */
  private gatherInputs(node: Prompt[string], types: InputTypes, prompt: Prompt, extraData: Record<string, unknown>, nodeId: string) {
    const data = new Map<string, unknown[]>();
    const args: Record<string, unknown> = {};
    let unexpected: string | undefined;
    const declared = (name: string) => Object.hasOwn(types.required ?? {}, name) || Object.hasOwn(types.optional ?? {}, name);
    const hidden = types.hidden ?? {};
    for (const [name, value] of Object.entries(isPlainObject(node.inputs) ? node.inputs : {})) {
      if (isLink(value)) {
        const outputs = this.cache.getOutputs(value[0]);
        const slot = Number(value[1]);
        const list = outputs && slot < outputs.length ? outputs[slot] : undefined;
        data.set(name, list ?? [null]);
        args[name] = list ? list[0] : null;
        if (!declared(name) && !Object.hasOwn(hidden, name)) unexpected ??= name;
      } else if (declared(name) || Object.hasOwn(hidden, name)) {
        data.set(name, [value]);
        args[name] = value;
      }
    }
    for (const [name, kind] of Object.entries(hidden)) {
      if (kind === "PROMPT") data.set(name, [prompt]);
      else if (kind === "EXTRA_PNGINFO") data.set(name, [extraData.extra_pnginfo ?? null]);
      else if (kind === "UNIQUE_ID") data.set(name, [nodeId]);
    }
    return { data, args, unexpected };
  }

  private runContext(
    nodeId: string,
    promptId: string,
    prompt: Prompt,
    extraData: Record<string, unknown>,
    clientId: string | null,
    progress: ProgressRegistry,
  ): NodeRunContext {
    const { rt } = this;
    const key = `${nodeId}\u0000${prompt[nodeId]?.class_type}`;
    let state = this.objects.get(key);
    if (!state) {
      state = {};
      this.objects.set(key, state);
    }
    return {
      nodeId,
      promptId,
      prompt,
      extraData,
      dirs: rt.dirs,
      config: rt.config,
      models: rt.models,
      log: (line) => rt.log(line),
      state,
      progress: (value, total, preview) => this.reportProgress(nodeId, promptId, clientId, progress, value, total, preview),
      throwIfInterrupted: () => {
        rt.lifecycle.throwIfStopped();
        rt.interrupt.throwIfSet();
      },
      sleep: (ms) => rt.lifecycle.sleep(ms),
      crash: (exitCode) => rt.lifecycle.crash(exitCode ?? rt.config.crashExitCode),
      gateOpen: (name) => rt.openGates.has(name),
    };
  }

  /** main.py's progress-bar hook. */
  private reportProgress(
    nodeId: string,
    promptId: string,
    clientId: string | null,
    progress: ProgressRegistry,
    value: number,
    total: number,
    preview: PreviewFrame | undefined,
  ): void {
    const { rt } = this;
    rt.interrupt.throwIfSet();
    const clamped = Math.min(value, total);
    progress.update(nodeId, clamped, total);
    const jpeg = preview && rt.config.previewMethod !== "none" ? encodeSolidJpeg(preview.width, preview.height, preview.rgb) : undefined;
    const withMetadata = rt.hub.supportsFeature(clientId, "supports_preview_metadata");
    if (jpeg && withMetadata) {
      const metadata = Buffer.from(
        pyJsonDumps({ node_id: nodeId, prompt_id: promptId, display_node_id: nodeId, parent_node_id: null, real_node_id: nodeId, image_type: "image/jpeg" }),
        "utf8",
      );
      const length = Buffer.alloc(4);
      length.writeUInt32BE(metadata.length, 0);
      rt.hub.sendBinary(PREVIEW_IMAGE_WITH_METADATA, Buffer.concat([length, metadata, jpeg]), clientId);
    }
    rt.hub.send("progress", { value: clamped, max: total, prompt_id: promptId, node: nodeId }, clientId);
    if (jpeg && !withMetadata) {
      const format = Buffer.alloc(4);
      format.writeUInt32BE(1, 0); // 1 = JPEG
      rt.hub.sendBinary(PREVIEW_IMAGE, Buffer.concat([format, jpeg]), clientId);
    }
  }

  /** ComfyUI keeps node objects per (id, class) only while consecutive prompts contain them. */
  private dropStaleObjects(prompt: Prompt): void {
    const keep = new Set(Object.entries(prompt).map(([id, node]) => `${id}\u0000${node.class_type}`));
    for (const key of [...this.objects.keys()]) if (!keep.has(key)) this.objects.delete(key);
  }
}

/** `format_value`: JSON scalars as they are, anything else as `str(x)`. */
function formatValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return value;
  return pyStr(value);
}
