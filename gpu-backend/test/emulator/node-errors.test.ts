// Partial validity: when some outputs validate, ComfyUI answers 200 with the failed ones in
// node_errors and runs only the valid outputs.
import { describe, it } from "vitest";
import { post, startTestEmulator, WsRecorder, waitForHistory } from "./harness.ts";

describe("node_errors on an accepted prompt", () => {
  it("accepts the valid outputs, reports the invalid one and runs only the valid ones", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const res = await post(emulator, "/prompt", {
      client_id: "c",
      prompt_id: "partial",
      prompt: {
        "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
        "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "good" } },
        "3": { class_type: "SaveImage", inputs: { filename_prefix: "bad" } },
      },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      prompt_id: "partial",
      number: 0,
      node_errors: {
        "3": {
          errors: [{ type: "required_input_missing", message: "Required input is missing", details: "images", extra_info: { input_name: "images" } }],
          dependent_outputs: ["3"],
          class_type: "SaveImage",
        },
      },
    });
    await ws.waitForDone("partial");
    const entry = await waitForHistory(emulator, "partial");
    expect((entry.prompt as unknown[])[4]).toEqual(["2"]);
    expect(Object.keys(entry.outputs as object)).toEqual(["2"]);
    expect(ws.messages.filter((m) => m.type === "executing").map((m) => m.data.node)).toEqual(["1", "2", null]);
  });

  it("appends every failing output to each erroring node seen so far (ComfyUI's bookkeeping)", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const res = await post(emulator, "/prompt", {
      prompt: {
        "1": { class_type: "EmptyImage", inputs: { width: 0, height: 8, batch_size: 1, color: 0 } },
        "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "a" } },
        "3": { class_type: "SaveImage", inputs: { filename_prefix: "b" } },
      },
    });
    expect(res.status).toBe(400);
    const nodeErrors = (res.json as { node_errors: Record<string, { dependent_outputs: string[] }> }).node_errors;
    expect(nodeErrors["1"]?.dependent_outputs).toEqual(["2", "3"]);
    expect(nodeErrors["3"]?.dependent_outputs).toEqual(["3"]);
  });
});
