// Conformance with a real ComfyUI 0.3.64, part 4: the WebSocket order of the recorded prompts
// (11, 15, 31, 45) holds for the model graph too. No recording has a model graph (no models were
// installed), so the order is written down as a grammar that every recorded transcript must
// satisfy, and the model graph's transcripts are then held against the same grammar:
//
//   prompt  := execution_start execution_cached node* end
//   node    := ps(X running) executing(X) step* [executed(X)] ps(X finished)   (a node that runs)
//            | executed(X) ps(X finished)                                     (a cached output node)
//   step    := ps(X running, value v) progress(X, v)
//   end     := (execution_success | execution_error | execution_interrupted) status executing(null)
//
// where the failing node's block ends after its steps, `status` broadcasts may come in between
// (other prompts being queued), and a node runs only after every node it links to is finished
// or cached.
import { describe, it } from "vitest";
import type { EmulatorHandle } from "../../emulator/index.ts";
import { recording, type WsRecording } from "./conformance-support.ts";
import { post, queuePrompt, startTestEmulator, type WsMessage, WsRecorder } from "./harness.ts";
import { defaultGraph, GB, installModels, withLora } from "./model-support.ts";

type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
type NodeState = { state: string; value: number; max: number };

/** Every way the messages of `promptId` break the grammar above ([] = none). */
function orderViolations(all: readonly WsMessage[], promptId: string, prompt?: Workflow): string[] {
  // `status` carries no prompt_id: every one is kept, and skipped wherever the grammar allows it.
  const own = all.filter((m) => m.data.prompt_id === promptId || m.type === "status");
  const problems: string[] = [];
  let i = own.findIndex((m) => m.type === "execution_start");
  const at = () => own[i];
  const show = (m: WsMessage | undefined) => (m ? `${m.type} ${JSON.stringify(m.data.node ?? "")}` : "end of transcript");
  const skipStatus = () => {
    while (at()?.type === "status") i++;
  };
  const expectType = (type: string): WsMessage | undefined => {
    if (type !== "status") skipStatus();
    const m = at();
    if (m?.type !== type) {
      problems.push(`expected ${type}, got ${show(m)} (#${i})`);
      return undefined;
    }
    i++;
    return m;
  };
  const stateOf = (m: WsMessage | undefined, node: string): NodeState | undefined => (m?.data.nodes as Record<string, NodeState> | undefined)?.[node];

  if (i < 0) return ["no execution_start"];
  i++;
  const cached = new Set((expectType("execution_cached")?.data.nodes as string[] | undefined) ?? []);
  const finished = new Set<string>();
  for (;;) {
    skipStatus();
    const m = at();
    if (!m) {
      problems.push("transcript ends inside the prompt");
      break;
    }
    if (["execution_success", "execution_error", "execution_interrupted"].includes(m.type)) break;
    if (m.type === "executed") {
      // A cached output node re-sends its UI.
      const node = String(m.data.node);
      if (!cached.has(node)) problems.push(`executed ${node} outside its node block`);
      i++;
      const done = expectType("progress_state");
      if (stateOf(done, node)?.state !== "finished") problems.push(`cached ${node}: no progress_state finished after executed`);
      finished.add(node);
      continue;
    }
    const running = expectType("progress_state");
    const node = Object.entries((running?.data.nodes as Record<string, NodeState>) ?? {}).find(([, s]) => s.state === "running")?.[0];
    if (node === undefined) {
      problems.push(`progress_state without a running node (#${i - 1})`);
      break;
    }
    const upstream = Object.values(prompt?.[node]?.inputs ?? {}).filter((v): v is [string, number] => Array.isArray(v) && v.length === 2);
    for (const [from] of upstream) if (!finished.has(from) && !cached.has(from)) problems.push(`${node} ran before its input ${from} was done`);
    const executing = expectType("executing");
    if (executing && executing.data.node !== node) problems.push(`executing ${String(executing.data.node)} after ${node} started running`);
    for (;;) {
      skipStatus();
      const step = at();
      const next = own[i + 1];
      if (step?.type !== "progress_state" || next?.type !== "progress") break;
      const state = stateOf(step, node);
      if (state?.state !== "running" || state.value !== next.data.value || next.data.node !== node)
        problems.push(`step of ${node}: ${JSON.stringify([state, next.data])}`);
      i += 2;
    }
    skipStatus();
    if (["execution_error", "execution_interrupted"].includes(at()?.type ?? "")) break;
    if (at()?.type === "executed") {
      if (at()?.data.node !== node) problems.push(`executed ${String(at()?.data.node)} inside ${node}'s block`);
      i++;
    }
    const done = expectType("progress_state");
    if (stateOf(done, node)?.state !== "finished") problems.push(`${node}: block does not end with progress_state finished`);
    finished.add(node);
  }
  i++;
  expectType("status");
  const last = expectType("executing");
  if (last && last.data.node !== null) problems.push("prompt does not end with executing null");
  return problems;
}

const recorded = (file: string): WsMessage[] => recording<WsRecording>(file).messages.map(({ type, data }) => ({ type, data }));

describe("conformance with ComfyUI 0.3.64: WebSocket order of the model graph", () => {
  it("the grammar holds for every recorded transcript", ({ expect }) => {
    for (const file of ["11_run_ws.json", "15_cached_ws.json", "31_exec_error_ws.json"]) {
      expect(orderViolations(recorded(file), recording<WsRecording>(file).prompt_id as string), file).toEqual([]);
    }
    const slow = recording<WsRecording>("45_slow_ws.json");
    expect(orderViolations(recorded("45_slow_ws.json"), slow.prompt_ids?.[0] as string)).toEqual([]);
    // And it is not vacuous: a transcript with two messages swapped breaks it.
    const swapped = recorded("11_run_ws.json");
    [swapped[5], swapped[6]] = [swapped[6] as WsMessage, swapped[5] as WsMessage];
    expect(orderViolations(swapped, recording<WsRecording>("11_run_ws.json").prompt_id as string)).not.toEqual([]);
  });

  it("holds for the model graph: fresh, partly cached, fully cached, failing and interrupted", async ({ expect }) => {
    // Sampler steps long enough that the interrupt below always lands while the sampler runs.
    const emulator: EmulatorHandle = await startTestEmulator({ stepMs: 10 });
    installModels(emulator, { "checkpoints/sd15.safetensors": { sizeBytes: 0.01 * GB }, "loras/style.safetensors": { sizeBytes: 1_000 } });
    const ws = await WsRecorder.connect(emulator, "c1");
    const runs: Array<[string, Workflow]> = [
      ["fresh", withLora(defaultGraph({ steps: 3 }), "style.safetensors")],
      ["new seed: loaders and prompts cached", withLora(defaultGraph({ steps: 3, seed: 7 }), "style.safetensors")],
      ["identical: everything cached", withLora(defaultGraph({ steps: 3, seed: 7 }), "style.safetensors")],
    ];
    const failing = defaultGraph({ steps: 2, seed: 8 });
    failing["8"] = { class_type: "RaiseErrorEmu", inputs: { message: "decode failed", exception_type: "RuntimeError" } };
    failing["9"]!.inputs.images = ["8", 0];
    failing["10"] = { class_type: "PreviewImage", inputs: { images: ["11", 0] } };
    failing["11"] = { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } };
    runs.push(["failing", failing]);
    for (const [what, prompt] of runs) {
      const promptId = await queuePrompt(emulator, prompt, "c1");
      await ws.waitForDone(promptId, 20_000);
      expect(orderViolations(ws.messages, promptId, prompt), what).toEqual([]);
    }
    const cachedCounts = ws.messages.filter((m) => m.type === "execution_cached").map((m) => (m.data.nodes as string[]).length);
    expect(cachedCounts.slice(0, 3)).toEqual([0, 5, 8]);

    const long = defaultGraph({ steps: 5000, seed: 9 });
    const promptId = await queuePrompt(emulator, long, "c1");
    await ws.waitFor((m) => m.type === "progress" && m.data.prompt_id === promptId, 20_000);
    await post(emulator, "/interrupt", {});
    await ws.waitForDone(promptId, 20_000);
    expect(orderViolations(ws.messages, promptId, long), "interrupted").toEqual([]);
    expect(ws.messages.some((m) => m.type === "execution_interrupted" && m.data.prompt_id === promptId)).toBe(true);
  });
});
