// POST /prompt bookkeeping: a client-chosen prompt_id is used verbatim everywhere, duplicates
// are not checked, and the `number` counter moves even when the prompt is refused.
import { describe, it } from "vitest";
import { get, minimalPrompt, post, startTestEmulator, WsRecorder, waitForHistory } from "./harness.ts";

describe("prompt ids and numbers", () => {
  it("uses our own prompt_id in the response, every event, the queue and history", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const ours = "7f8e2b2c-0d3a-4f6e-9c1b-000000000042";
    const res = await post(emulator, "/prompt", { prompt: minimalPrompt(), client_id: "c", prompt_id: ours });
    expect(res.json).toEqual({ prompt_id: ours, number: 0, node_errors: {} });
    await ws.waitForDone(ours);
    const perPrompt = ws.messages.filter((m) => m.type !== "status");
    expect(perPrompt.every((m) => m.data.prompt_id === ours)).toBe(true);
    expect(((await get(emulator, `/history/${ours}`)).json as Record<string, { prompt: unknown[] }>)[ours]?.prompt[1]).toBe(ours);
  });

  it("generates a UUID when none is given and stringifies a non-string id", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const generated = await post(emulator, "/prompt", { prompt: minimalPrompt() });
    expect((generated.json as { prompt_id: string }).prompt_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const numeric = await post(emulator, "/prompt", { prompt: minimalPrompt(), prompt_id: 12 });
    expect((numeric.json as { prompt_id: string }).prompt_id).toBe("12");
  });

  it("does not check uniqueness: a reused id overwrites the earlier history entry", async ({ expect }) => {
    const emulator = await startTestEmulator();
    await post(emulator, "/prompt", { prompt: minimalPrompt("first"), prompt_id: "same" });
    await waitForHistory(emulator, "same");
    await post(emulator, "/prompt", { prompt: minimalPrompt("second"), prompt_id: "same" });
    let filename = "";
    for (let i = 0; i < 100 && filename !== "second_00001_.png"; i++) {
      const entry = ((await get(emulator, "/history/same")).json as Record<string, { outputs: Record<string, { images: Array<{ filename: string }> }> }>).same;
      filename = entry?.outputs["2"]?.images[0]?.filename ?? "";
      if (filename !== "second_00001_.png") await new Promise((r) => setTimeout(r, 20));
    }
    expect(filename).toBe("second_00001_.png");
    expect(Object.keys((await get(emulator, "/history")).json as object)).toEqual(["same"]);
  });

  it("counts numbers even for refused prompts; front negates; an explicit number is used as is", async ({ expect }) => {
    const emulator = await startTestEmulator();
    expect((await post(emulator, "/prompt", { prompt: {} })).status).toBe(400); // takes number 0
    expect((await post(emulator, "/prompt", { client_id: "x" })).status).toBe(400); // no_prompt takes 1
    const numberOf = async (body: Record<string, unknown>) =>
      ((await post(emulator, "/prompt", { prompt: minimalPrompt(), ...body })).json as { number: number }).number;
    expect(await numberOf({})).toBe(2);
    expect(await numberOf({ front: true })).toBe(-3);
    expect(await numberOf({ number: 5.5 })).toBe(5.5);
    expect(await numberOf({})).toBe(4); // an explicit number does not move the counter
  });
});
