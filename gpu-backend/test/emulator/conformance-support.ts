/**
 * Conformance of the emulator with a real ComfyUI 0.3.64: the recordings in
 * `recorded/comfyui-0.3.64/` (see its README.md), the rules for comparing a replayed response
 * with a recorded one, and the two tables that are the only tolerance the comparison has:
 *
 * - NOT_COMPARED: values that are naturally different between two runs or two hosts (clock,
 *   queue counter, host memory, Python/torch build, device, command line). Their JSON type and
 *   shape are still compared.
 * - KNOWN_DIFFERENCES: the differences the recording's README lists, quoted.
 *
 * Everything else is compared exactly: status, content type, text bodies, every object's key
 * set and key order, every value's JSON type, every array's length, and every string, boolean
 * and number (error `type`s, messages, `details`, enums, file names, node ids …). Where a file
 * has no row in either table, the body's length must also equal the recorded `bytes`, which
 * pins the JSON text itself (separators, escaping, float formatting).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { EmulatorHandle } from "../../emulator/index.ts";
import { encodePng } from "../../emulator/media/png.ts";
import { request, type WsMessage, type WsRecorder } from "./harness.ts";

export const RECORDED_DIR = new URL("./recorded/comfyui-0.3.64/", import.meta.url);

/** One recorded HTTP exchange (`NN_*.json`). */
export interface Exchange {
  method: string;
  path: string;
  request?: unknown;
  status: number;
  content_type: string;
  json?: unknown;
  text?: string;
  /** Length of the recorded body. */
  bytes?: number;
}

/** The WebSocket messages of one prompt (`*_ws.json`), in arrival order. */
export interface WsRecording {
  client_id?: string;
  prompt_id?: string;
  prompt_ids?: string[];
  messages: Array<{ t: number; type: string; data: Record<string, unknown> }>;
}

export function recording<T = Exchange>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, RECORDED_DIR), "utf8")) as T;
}

/**
 * How a path is compared instead of by value:
 * - `type`: the same JSON type (containers are still compared inside);
 * - `elements`: an array whose length may differ; each element is shaped like the first recorded one;
 * - `set`: an array compared without regard to order;
 * - `any`: not compared at all.
 */
export type Rule = "type" | "elements" | "set" | "any";

export interface PathRule {
  /** Recording file names the rule applies to. */
  files: readonly string[];
  /** Dot-separated path from the exchange (`status`, `json.…`) or message (`data.…`); `*` = one segment, `**` = any. */
  path: string;
  rule: Rule;
  why: string;
}

const POSTS = ["10_run_post.json", "14_cached_post.json", "30_exec_error_post.json", "40_slow_posts.json", "60_interrupt_at_node_start.txt"];
const HISTORIES = ["12_run_history.json", "16_cached_history.json", "32_exec_error_history.json", "46_slow_history.json"];
const QUEUES = ["41_queue_busy.json", "43_queue_after_delete.json"];
const WS = ["11_run_ws.json", "15_cached_ws.json", "31_exec_error_ws.json", "45_slow_ws.json", "60_interrupt_at_node_start.txt"];
const TRACEBACKS = ["25_err_bad_link_type.json", "26_err_link_missing_node.json", "31_exec_error_ws.json", "32_exec_error_history.json"];

/** Values that differ between any two runs or hosts; compared by type only. */
export const NOT_COMPARED: readonly PathRule[] = [
  { files: [...WS, ...HISTORIES], path: "**.timestamp", rule: "type", why: "wall-clock time (ms)" },
  {
    files: POSTS,
    path: "json.number",
    rule: "type",
    why: "the queue counter: the recording session had queued other prompts first; each replay starts a fresh emulator",
  },
  { files: HISTORIES, path: "json.*.prompt.0", rule: "type", why: "the queue counter (see json.number)" },
  { files: QUEUES, path: "json.*.*.0", rule: "type", why: "the queue counter (see json.number)" },
  { files: ["01_system_stats.json"], path: "json.system.ram_*", rule: "type", why: "the host's memory" },
  { files: ["01_system_stats.json"], path: "json.devices.*.*vram_*", rule: "type", why: "the host's memory" },
  { files: ["01_system_stats.json"], path: "json.system.python_version", rule: "type", why: "the host's Python build" },
  { files: ["01_system_stats.json"], path: "json.system.pytorch_version", rule: "type", why: "the host's torch build" },
  { files: ["01_system_stats.json"], path: "json.system.argv", rule: "elements", why: "the process's command line" },
  { files: ["01_system_stats.json"], path: "json.system.argv.*", rule: "type", why: "the process's command line" },
  {
    files: ["01_system_stats.json"],
    path: "json.devices.*.name",
    rule: "type",
    why: "the host's device: the recording ran with --cpu, the emulator stands for a CUDA host (its README: system_stats reports a CUDA device from the knobs)",
  },
  { files: ["01_system_stats.json"], path: "json.devices.*.type", rule: "type", why: "the host's device (see name)" },
];

/** The README's list of known differences ("none that a client reads"), each where it shows. */
export const KNOWN_DIFFERENCES: readonly PathRule[] = [
  { files: ["01_system_stats.json"], path: "json.devices.*.index", rule: "any", why: "README: `devices[0].index` is null on CPU" },
  {
    files: ["01_system_stats.json"],
    path: "json.system.installed_templates_version",
    rule: "any",
    why: "README: `installed_templates_version` null (templates not installed)",
  },
  {
    files: ["55_interrupt_get.json"],
    path: "status",
    rule: "any",
    why: "README: `GET /interrupt` 404 (aiohttp 3.8) — the emulator answers 405 like aiohttp 3.12",
  },
  {
    files: ["55_interrupt_get.json"],
    path: "text",
    rule: "any",
    why: "README: `GET /interrupt` 404 (aiohttp 3.8) — the emulator's body is aiohttp 3.12's 405 text",
  },
  { files: TRACEBACKS, path: "**.traceback", rule: "elements", why: "README: tracebacks carry real paths and more frames" },
  { files: TRACEBACKS, path: "**.traceback.*", rule: "type", why: "README: tracebacks carry real paths and more frames" },
  { files: ["31_exec_error_ws.json", "32_exec_error_history.json"], path: "**.current_outputs", rule: "set", why: "README: the order of `current_outputs`" },
  {
    files: ["31_exec_error_ws.json", "32_exec_error_history.json"],
    path: "**.current_inputs.image.*",
    rule: "type",
    why: "README: `current_inputs` holds the full torch repr",
  },
  // README: "`ImageInvert` of 200 gives 54" — pixel values; no recording holds pixels (13_run_view keeps
  // only the PNG's size), so it needs no path here.
];

const RULES = [...NOT_COMPARED, ...KNOWN_DIFFERENCES];

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  const [head, ...rest] = pattern;
  if (head === undefined) return path.length === 0;
  if (head === "**") return path.some((_, i) => matches(rest, path.slice(i))) || matches(rest, []);
  const [first, ...tail] = path;
  if (first === undefined) return false;
  const glob = new RegExp(
    `^${head
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return glob.test(first) && matches(rest, tail);
}

function ruleFor(file: string, path: readonly string[]): Rule | undefined {
  return RULES.find((r) => r.files.includes(file) && matches(r.path.split("."), path))?.rule;
}

export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

const show = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

/**
 * Every difference between a recorded value and the replayed one, as `path: what` lines.
 * `file` selects the rows of NOT_COMPARED / KNOWN_DIFFERENCES that apply.
 */
export function differences(file: string, expected: unknown, actual: unknown, path: string[] = []): string[] {
  const rule = ruleFor(file, path);
  const at = path.join(".") || "(root)";
  if (rule === "any") return [];
  if (jsonType(expected) !== jsonType(actual)) return [`${at}: ${jsonType(actual)} ${show(actual)}, recorded ${jsonType(expected)} ${show(expected)}`];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (rule === "set") {
      const sort = (items: unknown[]) => items.map((v) => JSON.stringify(v)).sort();
      return isDeepStrictEqual(sort(expected), sort(actual)) ? [] : [`${at}: ${show(actual)}, recorded ${show(expected)} (in any order)`];
    }
    if (rule === "elements") {
      if (expected.length === 0) return actual.length === 0 ? [] : [`${at}: ${actual.length} elements, recorded none`];
      return actual.flatMap((item, i) => differences(file, expected[0], item, [...path, String(i)]));
    }
    const out = expected.length === actual.length ? [] : [`${at}: ${actual.length} elements, recorded ${expected.length}`];
    for (let i = 0; i < Math.min(expected.length, actual.length); i++) out.push(...differences(file, expected[i], actual[i], [...path, String(i)]));
    return out;
  }
  if (jsonType(expected) === "object") {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const out: string[] = [];
    for (const key of Object.keys(e)) if (!Object.hasOwn(a, key)) out.push(`${at}: key ${show(key)} missing`);
    for (const key of Object.keys(a)) if (!Object.hasOwn(e, key)) out.push(`${at}: unexpected key ${show(key)}`);
    const common = (from: Record<string, unknown>, other: Record<string, unknown>) =>
      Object.keys(from)
        .filter((k) => Object.hasOwn(other, k))
        .join(", ");
    if (common(e, a) !== common(a, e)) out.push(`${at}: keys in the order ${common(a, e)}, recorded ${common(e, a)}`);
    for (const key of Object.keys(e)) if (Object.hasOwn(a, key)) out.push(...differences(file, e[key], a[key], [...path, key]));
    return out;
  }
  if (rule === "type" || expected === actual) return [];
  return [`${at}: ${show(actual)}, recorded ${show(expected)}`];
}

/** What a replayed HTTP exchange is compared on (the recording's status, content type and body). */
export function exchangeView(res: { status: number; headers: Headers; text: string; json: unknown }, recorded: Exchange): Record<string, unknown> {
  const view: Record<string, unknown> = { status: res.status, content_type: res.headers.get("content-type") };
  if (Object.hasOwn(recorded, "json")) view.json = res.json;
  if (Object.hasOwn(recorded, "text")) view.text = res.text;
  return view;
}

export function recordedView(recorded: Exchange): Record<string, unknown> {
  const view: Record<string, unknown> = { status: recorded.status, content_type: recorded.content_type };
  if (Object.hasOwn(recorded, "json")) view.json = recorded.json;
  if (Object.hasOwn(recorded, "text")) view.text = recorded.text;
  return view;
}

/** The recorded messages as `{type, data}` (arrival times dropped). */
export function recordedMessages(ws: WsRecording): WsMessage[] {
  return ws.messages.map(({ type, data }) => ({ type, data }));
}

type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/**
 * A recorded workflow replayed with some nodes replaced by emulator nodes (a slow node by a
 * GateEmu the test opens, a node that fails at run time by RaiseErrorEmu; ComfyUI has neither,
 * the emulator has no ImageBlur or ImageScaleBy). The expectation is derived from the recording
 * by exactly these rules, and nothing else changes:
 * 1. every echo of the recorded workflow (queue items, history `prompt`) becomes the workflow
 *    sent — ComfyUI echoes a queued workflow verbatim (conformance.test.ts checks the recording);
 * 2. the outputs to execute that follow such an echo become `outputs`: the emulator's failure
 *    nodes are output nodes, so they join the list;
 * 3. `node_type` next to the `node_id` of a replaced node becomes the replacement's class;
 * 4. `current_inputs` next to the `node_id` of a replaced node lists the replacement's inputs
 *    (`[value]` per constant, `[<tensor repr>]` per link, as `get_input_data` gathers them).
 */
export interface Substitution {
  recorded: Workflow;
  sent: Workflow;
  outputs: string[];
}

/** Replaces the nodes `replace` names in a recorded workflow; the result is what the test sends. */
export function substitution(recorded: unknown, replace: Workflow, outputs: string[]): Substitution {
  const workflow = recorded as Workflow;
  return { recorded: workflow, sent: { ...structuredClone(workflow), ...structuredClone(replace) }, outputs };
}

export function substituted(value: unknown, subs: readonly Substitution[]): unknown {
  const sub = subs.find((s) => isDeepStrictEqual(value, s.recorded));
  if (sub) return structuredClone(sub.sent);
  if (Array.isArray(value)) {
    const echo = subs.find((s) => isDeepStrictEqual(value[2], s.recorded));
    const out = value.map((v) => substituted(v, subs));
    if (echo && out.length >= 5) out[4] = [...echo.outputs];
    return out;
  }
  if (jsonType(value) !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) out[key] = substituted(v, subs);
  const nodeId = out.node_id;
  for (const s of subs) {
    const sent = typeof nodeId === "string" ? s.sent[nodeId] : undefined;
    if (!sent || sent.class_type === s.recorded[nodeId as string]?.class_type) continue;
    if (Object.hasOwn(out, "node_type")) out.node_type = sent.class_type;
    if (Object.hasOwn(out, "current_inputs")) {
      out.current_inputs = Object.fromEntries(Object.entries(sent.inputs).map(([name, input]) => [name, [Array.isArray(input) ? "<tensor repr>" : input]]));
    }
  }
  return out;
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.subarray(1, 4).toString("latin1") !== "PNG") throw new Error("not a PNG");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** ComfyUI ships `input/example.png`, which is why the recorded LoadImage combo lists it. */
export function addExampleImage(emulator: EmulatorHandle): void {
  const png = encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3) });
  writeFileSync(join(emulator.dirs.input, "example.png"), png);
}

/**
 * Sends the recorded request (`recorded`: a file's exchange, or one of `40_slow_posts.json`'s two)
 * with its workflow substituted, and returns every difference from the recorded answer.
 */
export async function replay(emulator: EmulatorHandle, file: string, recorded = recording(file), subs: readonly Substitution[] = []): Promise<string[]> {
  const body = subs.length > 0 && jsonType(recorded.request) === "object" ? substituted(recorded.request, subs) : recorded.request;
  const res = await request(emulator, recorded.method, recorded.path, body);
  const out = differences(file, substituted(recordedView(recorded), subs), exchangeView(res, recorded));
  const bytes = Buffer.byteLength(res.text);
  if (!RULES.some((r) => r.files.includes(file)) && recorded.bytes !== undefined && bytes !== recorded.bytes)
    out.push(`bytes: ${bytes}, recorded ${recorded.bytes}`);
  return out;
}

/** Compares the messages a socket received (from index `from`) with a recorded `*_ws.json`. */
export function wsDifferences(file: string, ws: WsRecorder, from: number, subs: readonly Substitution[] = []): string[] {
  const expected = substituted(recordedMessages(recording<WsRecording>(file)), subs) as WsMessage[];
  const actual = ws.messages.slice(from);
  const types = (list: Array<{ type: string }>) => list.map((m) => m.type).join(", ");
  if (types(expected) !== types(actual)) return [`message types: ${types(actual)}\n          recorded: ${types(expected)}`];
  return differences(file, { messages: expected }, { messages: actual });
}
