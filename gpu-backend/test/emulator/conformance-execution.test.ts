// Conformance with a real ComfyUI 0.3.64, part 2: recordings that need a prompt to fail at run
// time or to stay running (queue, delete, interrupt), and the reconnect pitfall.
//
// The recorded workflows used ImageScaleBy (raising at run time) and a chain of slow ImageBlur
// nodes (radius 31) to keep a prompt running; the emulator has neither class. They are replayed
// with emulator nodes in their place (`substitution`, rules in conformance-support.ts):
// RaiseErrorEmu raising the recorded RuntimeError, and GateEmu with `interruptible: false`,
// which holds the prompt — like the slow ImageBlur, without checking the interrupt flag — until
// the test opens the gate, instead of a duration. Everything is compared against the recorded
// shapes and values.
import { readFileSync } from "node:fs";
import { describe, it } from "vitest";
import type { EmulatorHandle } from "../../emulator/index.ts";
import { waitFor } from "../support/harness.ts";
import {
  differences,
  type Exchange,
  RECORDED_DIR,
  recording,
  replay,
  type Substitution,
  substituted,
  substitution,
  type WsRecording,
  wsDifferences,
} from "./conformance-support.ts";
import { post, startTestEmulator, type WsMessage, WsRecorder, waitForHistory } from "./harness.ts";

const GATE = "conformance-slow";

/** ImageBlur "2" → GateEmu (held until the test opens it; interrupts are not checked while it runs). */
const heldNode = { class_type: "GateEmu", inputs: { image: ["1", 0], name: GATE, interruptible: false } };
/** The other ImageBlur nodes (3, 5, 6: IMAGE → IMAGE) → ImageInvert, the emulator's IMAGE → IMAGE node. */
const invertOf = (from: string) => ({ class_type: "ImageInvert", inputs: { image: [from, 0] } });
const SLOW_REPLACEMENTS = { "2": heldNode, "3": invertOf("2"), "5": invertOf("3"), "6": invertOf("5") };
/** GateEmu is an output node, so it joins SaveImage "4" among the outputs to execute. */
const SLOW_OUTPUTS = ["2", "4"];

const slowSubstitution = (post: Exchange): Substitution => substitution((post.request as { prompt: unknown }).prompt, SLOW_REPLACEMENTS, SLOW_OUTPUTS);

/** Resolves once every frame the server sent before now has arrived (a pong follows them on the socket). */
function barrier(ws: WsRecorder): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no pong within 5 s")), 5000);
    ws.socket.once("pong", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.socket.ping();
  });
}

const isExecuting = (promptId: string, node: string) => (m: WsMessage) => m.type === "executing" && m.data.prompt_id === promptId && m.data.node === node;

describe("conformance with ComfyUI 0.3.64: execution error", () => {
  it("30–32: EmptyImage → (ImageScaleBy raising → RaiseErrorEmu) → SaveImage", async ({ expect }) => {
    const posted = recording("30_exec_error_post.json");
    const { prompt, client_id: clientId } = posted.request as { prompt: Record<string, unknown>; client_id: string };
    const failure = recording<WsRecording>("31_exec_error_ws.json").messages.find((m) => m.type === "execution_error")?.data;
    const sub = substitution(
      prompt,
      {
        "2": {
          class_type: "RaiseErrorEmu",
          inputs: {
            image: ["1", 0],
            exception_type: String(failure?.exception_type),
            // ComfyUI appends "\n" to the exception's text (so does the emulator).
            message: String(failure?.exception_message).replace(/\n$/, ""),
          },
        },
      },
      ["2", "3"], // RaiseErrorEmu is an output node
    );
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, clientId);

    expect(await replay(emulator, "30_exec_error_post.json", posted, [sub])).toEqual([]);
    await ws.waitForDone((posted.request as { prompt_id: string }).prompt_id);
    expect(wsDifferences("31_exec_error_ws.json", ws, 1, [sub])).toEqual([]);
    expect(await replay(emulator, "32_exec_error_history.json", undefined, [sub])).toEqual([]);
  });
});

describe("conformance with ComfyUI 0.3.64: a running prompt, the queue, delete and interrupt", () => {
  it("40–49: two slow prompts, /queue, delete of the pending one, /interrupt, history, idle targeted interrupt", async ({ expect }) => {
    const posts = recording<{ first: Exchange; second: Exchange }>("40_slow_posts.json");
    const subs = [slowSubstitution(posts.first), slowSubstitution(posts.second)];
    const [firstId, secondId] = recording<WsRecording>("45_slow_ws.json").prompt_ids as [string, string];
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, (posts.first.request as { client_id: string }).client_id);

    expect(await replay(emulator, "40_slow_posts.json", posts.first, subs)).toEqual([]);
    await ws.waitFor(isExecuting(firstId, "2")); // held in GateEmu, as the recording was in the slow ImageBlur "2"
    expect(await replay(emulator, "40_slow_posts.json", posts.second, subs)).toEqual([]);
    expect(await replay(emulator, "41_queue_busy.json", undefined, subs)).toEqual([]);
    expect(await replay(emulator, "42_queue_delete.json")).toEqual([]);
    expect(await replay(emulator, "43_queue_after_delete.json", undefined, subs)).toEqual([]);
    expect(await replay(emulator, "44_interrupt.json")).toEqual([]);
    // The recorded ImageBlur "2" finished after the interrupt; the flag is checked when "3" starts.
    emulator.openGate(GATE);
    await ws.waitForDone(firstId);

    expect(wsDifferences("45_slow_ws.json", ws, 1, subs)).toEqual([]);
    expect(await replay(emulator, "46_slow_history.json", undefined, subs)).toEqual([]);
    expect(await replay(emulator, "47_deleted_history.json")).toEqual([]);
    expect(await replay(emulator, "48_queue_idle_after.json")).toEqual([]);
    expect(await replay(emulator, "49_interrupt_idle_targeted.json")).toEqual([]);
    expect(ws.messages.some((m) => m.data.prompt_id === secondId)).toBe(false);
  });

  it("60: an interrupt sent while a node runs lands when the next node starts (timed transcript)", async ({ expect }) => {
    // Lines: "200 <POST /prompt answer>", then "<ms> <type> <data>" per message and "<ms> -> interrupt sent";
    // prompt ids are written "P". The transcript lists no progress_state (45_slow_ws.json has them).
    const lines = readFileSync(new URL("60_interrupt_at_node_start.txt", RECORDED_DIR), "utf8").trim().split("\n");
    const [answer = "", ...rest] = lines;
    const events = rest.map((line) => /^\d+ (\S+) ?(.*)$/.exec(line) as RegExpExecArray).map(([, type, data]) => ({ type, data }));
    const interruptAt = events.findIndex((e) => e.type === "->");
    const recorded = events
      .filter((e) => e.type !== "->")
      .map((e) => ({ type: e.type as string, data: JSON.parse(e.data as string) as Record<string, unknown> }));
    const clientId = String(recorded[0]?.data.sid);
    const workflow = (recording<{ first: Exchange }>("40_slow_posts.json").first.request as { prompt: unknown }).prompt;
    const sub = substitution(workflow, SLOW_REPLACEMENTS, SLOW_OUTPUTS);

    const answered = JSON.parse(answer.slice(4)) as { prompt_id: string };
    const promptId = answered.prompt_id;

    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, clientId);
    const res = await post(emulator, "/prompt", { prompt: sub.sent, client_id: clientId, prompt_id: promptId });
    expect(differences("60_interrupt_at_node_start.txt", { status: 200, json: answered }, { status: res.status, json: res.json })).toEqual([]);
    await ws.waitFor(isExecuting(promptId, "2"));
    expect(ws.messages.filter((m) => m.type !== "progress_state")).toHaveLength(interruptAt);
    await post(emulator, "/interrupt", {});
    emulator.openGate(GATE);
    await ws.waitForDone(promptId);

    const asP = (m: WsMessage) => JSON.parse(JSON.stringify(m).replaceAll(promptId, "P")) as WsMessage;
    const actual = ws.messages.filter((m) => m.type !== "progress_state").map(asP);
    expect(actual.map((m) => m.type)).toEqual(recorded.map((m) => m.type));
    expect(differences("60_interrupt_at_node_start.txt", { messages: substituted(recorded, [sub]) }, { messages: actual })).toEqual([]);
  });
});

describe("conformance with ComfyUI 0.3.64: the reconnect pitfall", () => {
  it("61: after an old socket with the same clientId closes, the new one gets nothing but its greeting", async ({ expect }) => {
    const recorded = recording<{ new_socket_types_after_old_closed: string[]; got_execution_events: boolean }>("61_reconnect_pitfall.json");
    const run = recording("10_run_post.json").request as { prompt: Record<string, unknown> };
    const emulator: EmulatorHandle = await startTestEmulator();
    const old = await WsRecorder.connect(emulator, "pitfall");
    const fresh = await WsRecorder.connect(emulator, "pitfall");
    old.close();
    await waitFor(() => emulator.wsConnections() === 1, 5_000, "the server to drop the old socket");

    const promptId = crypto.randomUUID();
    expect((await post(emulator, "/prompt", { prompt: run.prompt, client_id: "pitfall", prompt_id: promptId })).status).toBe(200);
    await waitForHistory(emulator, promptId);
    await barrier(fresh);

    // The recorder read the new socket only after closing the old one, so the list starts with the
    // new socket's greeting `status` — the only message it can get: ComfyUI's broadcasts go to
    // `self.sockets` (server.py send_json), from which the old socket's close removed the sid.
    const after = fresh.messages;
    expect(after.map((m) => m.data.sid)).toEqual(["pitfall"]);
    const types = [...new Set(after.map((m) => m.type))];
    const execution = after.some((m) => m.type.startsWith("execution") || m.type === "executing" || m.type === "executed");
    expect({ new_socket_types_after_old_closed: types, got_execution_events: execution }).toEqual(recorded);
  });
});
