// The edge's pre-flight (src/workflows/preflight.ts) and the host's ComfyUI must agree: for one
// bad graph per error kind, and the valid one, the verdict of preflight() against the emulator's
// own /object_info equals what the emulator's POST /prompt answers — valid or not, and which
// node, input and error type.
import { afterAll, beforeAll, describe, it } from "vitest";
import type { Catalog } from "../../../src/workflows/catalog.ts";
import { type PreflightResult, preflight } from "../../../src/workflows/preflight.ts";
import { type EmulatorHandle, startEmulator } from "../../emulator/index.ts";
import { get, post } from "./harness.ts";
import { defaultGraph, installModels } from "./model-support.ts";

type Workflow = ReturnType<typeof defaultGraph>;
type HostError = { type: string; details: string; extra_info: { input_name?: string } };
type HostAnswer = { error?: HostError; node_errors?: Record<string, { errors: HostError[] }> };

let emulator: EmulatorHandle;
let catalog: Catalog;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, host: "127.0.0.1", stepMs: 1 });
  // Model files first: object_info lists the models folders as they are when it is asked.
  installModels(emulator, { "checkpoints/sd15.safetensors": { sizeBytes: 1_000 }, "checkpoints/other.safetensors": { sizeBytes: 1_000 } });
  catalog = (await get(emulator, "/object_info")).json as Catalog;
});
afterAll(() => emulator?.close());

// A link to a missing node or slot makes ComfyUI raise; it records the exception on the node
// holding the link, with the downstream node's input name, so only the node is compared.
const EXCEPTION = new Set(["exception_during_validation", "exception_during_inner_validation", "linked_node_missing", "linked_output_out_of_range"]);

function key(node: string | undefined, type: string, input: string | undefined): string {
  if (EXCEPTION.has(type)) return `${node} exception`;
  return [node ?? "-", type, input ?? "-"].join(" ");
}

function hostVerdict(status: number, answer: HostAnswer): string[] {
  if (status === 200) return [];
  const error = answer.error!;
  if (error.type === "invalid_prompt") return [key(/#(.+)'$/.exec(error.details)?.[1], error.type, undefined)];
  if (error.type === "prompt_no_outputs") return [key(undefined, error.type, undefined)];
  return Object.entries(answer.node_errors ?? {})
    .flatMap(([node, { errors }]) => errors.map((e) => key(node, e.type, e.extra_info.input_name)))
    .sort();
}

function edgeVerdict(result: PreflightResult): string[] {
  if (result.valid) return [];
  return result.errors.map((e) => key(e.node_id, e.code, e.code === "invalid_prompt" ? undefined : e.input_name)).sort();
}

const edit = (change: (g: Workflow) => void) => () => {
  const g = defaultGraph();
  change(g);
  return g;
};

const CASES: Array<[string, () => Workflow, string[]]> = [
  ["a valid graph", edit(() => {}), []],
  ["unknown class", edit((g) => Object.assign(g["3"]!, { class_type: "KSamplr" })), ["3 invalid_prompt -"]],
  ["no output node", edit((g) => delete g["9"]), ["- prompt_no_outputs -"]],
  ["missing required input", edit((g) => delete g["3"]!.inputs.steps), ["3 required_input_missing steps"]],
  ["literal of the wrong type", edit((g) => Object.assign(g["3"]!.inputs, { steps: "abc" })), ["3 invalid_input_type steps"]],
  ["value below min", edit((g) => Object.assign(g["3"]!.inputs, { steps: 0 })), ["3 value_smaller_than_min steps"]],
  ["value above max", edit((g) => Object.assign(g["3"]!.inputs, { cfg: 101 })), ["3 value_bigger_than_max cfg"]],
  ["combo value not in the list", edit((g) => Object.assign(g["3"]!.inputs, { sampler_name: "nope" })), ["3 value_not_in_list sampler_name"]],
  ["missing checkpoint", edit((g) => Object.assign(g["4"]!.inputs, { ckpt_name: "missing.safetensors" })), ["4 value_not_in_list ckpt_name"]],
  ["link to a missing node", edit((g) => Object.assign(g["6"]!.inputs, { clip: ["99", 1] })), ["6 exception"]],
  ["bad output index", edit((g) => Object.assign(g["6"]!.inputs, { clip: ["4", 5] })), ["6 exception"]],
  ["malformed link", edit((g) => Object.assign(g["6"]!.inputs, { clip: ["4", 1, 0] })), ["6 bad_linked_input clip"]],
  ["link type mismatch", edit((g) => Object.assign(g["6"]!.inputs, { clip: ["4", 0] })), ["6 return_type_mismatch clip"]],
  [
    "several errors in one node",
    edit((g) => Object.assign(g["3"]!.inputs, { steps: 0, cfg: 101 })),
    ["3 value_bigger_than_max cfg", "3 value_smaller_than_min steps"],
  ],
];

describe("pre-flight agrees with the host", () => {
  it.for(CASES)("%s", async ([, build, expected], { expect }) => {
    const graph = build();
    const edge = edgeVerdict(preflight(structuredClone(graph), catalog));
    const res = await post(emulator, "/prompt", { prompt: graph });
    const host = hostVerdict(res.status, res.json as HostAnswer);
    expect(host).toEqual(expected);
    expect(edge).toEqual(host);
  });
});
