/**
 * Prompt, queue, history, interrupt and free routes (server.py), with ComfyUI's quirks:
 * the queue number counter moves even when the prompt is then refused; a client `prompt_id` is
 * taken as `str(value)` without any uniqueness check; `/queue` and `/history` deletes are
 * silent; `/interrupt` with a `prompt_id` only acts if that prompt is the running one;
 * `/history/{id}` answers `{}` for anything not finished.
 */
import { randomUUID } from "node:crypto";
import { HttpError, internalServerError, parseJson, sendEmpty, sendJson } from "../http.ts";
import { isPlainObject, pyFloat, pyInt, pyStr, pyTruthy } from "../py/values.ts";
import type { RouteContext, Router } from "../router.ts";
import { catalogContext, queueInfo } from "../runtime.ts";
import { MalformedPromptError, validatePrompt } from "../validate.ts";

/** Python's `key in body` for a request body that may not be a dict. */
function has(body: unknown, key: string): boolean {
  if (isPlainObject(body)) return Object.hasOwn(body, key);
  if (Array.isArray(body)) return body.includes(key);
  if (typeof body === "string") return body.includes(key);
  throw internalServerError();
}

/** Iterating a JSON value as Python would (`for x in value`). */
function pyIter(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === "string") return [...value];
  if (isPlainObject(value)) return Object.keys(value);
  throw internalServerError();
}

async function jsonBody(ctx: RouteContext): Promise<unknown> {
  return parseJson(await ctx.body());
}

async function postPrompt(ctx: RouteContext): Promise<void> {
  const { rt } = ctx;
  rt.log("got prompt");
  const body = await jsonBody(ctx);
  let number: number;
  if (has(body, "number")) {
    try {
      number = pyFloat((body as Record<string, unknown>).number);
    } catch {
      throw internalServerError();
    }
  } else {
    number = rt.counters.number;
    if (has(body, "front") && pyTruthy((body as Record<string, unknown>).front)) number = -number;
    rt.counters.number += 1;
  }
  if (!isPlainObject(body) || !Object.hasOwn(body, "prompt")) {
    const error = { type: "no_prompt", message: "No prompt provided", details: "No prompt provided", extra_info: {} };
    sendJson(ctx.res, 400, { error, node_errors: {} });
    return;
  }
  const prompt = body.prompt;
  const promptId = Object.hasOwn(body, "prompt_id") ? pyStr(body.prompt_id) : randomUUID();
  const partial = Object.hasOwn(body, "partial_execution_targets") ? body.partial_execution_targets : null;
  let outcome;
  try {
    outcome = validatePrompt(prompt, partial, rt.catalog, catalogContext(rt));
  } catch (err) {
    if (err instanceof MalformedPromptError) throw internalServerError();
    throw err;
  }
  const extraData = Object.hasOwn(body, "extra_data") ? body.extra_data : {};
  if (Object.hasOwn(body, "client_id")) {
    if (!isPlainObject(extraData)) throw internalServerError();
    extraData.client_id = body.client_id;
  }
  if (!outcome.valid) {
    rt.log(`invalid prompt: ${outcome.error.message}`);
    sendJson(ctx.res, 400, { error: outcome.error, node_errors: outcome.nodeErrors });
    return;
  }
  rt.queue.put([number, promptId, prompt as Record<string, unknown>, extraData as Record<string, unknown>, outcome.outputs]);
  sendJson(ctx.res, 200, { prompt_id: promptId, number, node_errors: outcome.nodeErrors });
}

async function postQueue(ctx: RouteContext): Promise<void> {
  const body = await jsonBody(ctx);
  if (has(body, "clear") && pyTruthy((body as Record<string, unknown>).clear)) ctx.rt.queue.wipeQueue();
  if (has(body, "delete")) {
    for (const id of pyIter((body as Record<string, unknown>).delete)) ctx.rt.queue.deleteQueueItem((item) => item[1] === id);
  }
  sendEmpty(ctx.res);
}

async function postInterrupt(ctx: RouteContext): Promise<void> {
  const { rt } = ctx;
  let body: unknown;
  try {
    body = JSON.parse((await ctx.body()).toString("utf8"));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    body = {}; // ComfyUI treats an unparsable body as {} here, and only here.
  }
  if (!isPlainObject(body)) throw internalServerError();
  const promptId = body.prompt_id;
  if (pyTruthy(promptId)) {
    if (rt.queue.currentQueue().running.some((item) => item[1] === promptId)) {
      rt.log(`Interrupting prompt ${pyStr(promptId)}`);
      rt.interrupt.raise();
    } else {
      rt.log(`Prompt ${pyStr(promptId)} is not currently running, skipping interrupt`);
    }
  } else {
    rt.log("Global interrupt (no prompt_id specified)");
    rt.interrupt.raise();
  }
  sendEmpty(ctx.res);
}

async function postFree(ctx: RouteContext): Promise<void> {
  const body = await jsonBody(ctx);
  if (!isPlainObject(body)) throw internalServerError();
  if (pyTruthy(body.unload_models)) ctx.rt.queue.setFlag("unload_models", body.unload_models);
  if (pyTruthy(body.free_memory)) ctx.rt.queue.setFlag("free_memory", body.free_memory);
  sendEmpty(ctx.res);
}

function getHistory(ctx: RouteContext): void {
  const query = ctx.url.searchParams;
  const intParam = (name: string): number | undefined => {
    const raw = query.get(name);
    if (raw === null) return undefined;
    try {
      return pyInt(raw);
    } catch {
      throw internalServerError();
    }
  };
  const maxItems = intParam("max_items");
  const offset = intParam("offset") ?? -1;
  sendJson(ctx.res, 200, ctx.rt.queue.getHistory({ maxItems, offset }));
}

async function postHistory(ctx: RouteContext): Promise<void> {
  const body = await jsonBody(ctx);
  if (has(body, "clear") && pyTruthy((body as Record<string, unknown>).clear)) ctx.rt.queue.wipeHistory();
  if (has(body, "delete")) {
    for (const id of pyIter((body as Record<string, unknown>).delete)) if (typeof id === "string") ctx.rt.queue.deleteHistoryItem(id);
  }
  sendEmpty(ctx.res);
}

export function addQueueRoutes(router: Router): void {
  router
    .add("GET", "/prompt", (ctx) => sendJson(ctx.res, 200, queueInfo(ctx.rt)))
    .add("POST", "/prompt", postPrompt)
    .add("GET", "/queue", (ctx) => {
      const { running, pending } = ctx.rt.queue.currentQueue();
      sendJson(ctx.res, 200, { queue_running: running, queue_pending: pending });
    })
    .add("POST", "/queue", postQueue)
    .add("POST", "/interrupt", postInterrupt)
    .add("POST", "/free", postFree)
    .add("GET", "/history", getHistory)
    .add("GET", "/history/{prompt_id}", (ctx) => sendJson(ctx.res, 200, ctx.rt.queue.getHistory({ promptId: ctx.params.prompt_id })))
    .add("POST", "/history", postHistory);
}
