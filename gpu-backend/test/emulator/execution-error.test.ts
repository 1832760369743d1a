// Node failures at run time: `execution_error` with ComfyUI's exact fields, the OOM variant
// (torch's message + ComfyUI's tips), and the history entry of a failed prompt.
import { describe, it } from "vitest";
import { queuePrompt, startTestEmulator, WsRecorder, waitForHistory } from "./harness.ts";

const image = { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } };

describe("execution errors", () => {
  it("sends execution_error with ComfyUI's shape and records it in history", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const promptId = await queuePrompt(
      emulator,
      {
        "1": image,
        "2": { class_type: "RaiseErrorEmu", inputs: { image: ["1", 0], message: "boom", exception_type: "ValueError" } },
        "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "never" } },
      },
      "c",
    );
    await ws.waitForDone(promptId);

    const error = ws.messages.find((m) => m.type === "execution_error");
    expect(error?.data).toEqual({
      prompt_id: promptId,
      node_id: "2",
      node_type: "RaiseErrorEmu",
      executed: ["1"],
      exception_message: "boom\n",
      exception_type: "ValueError",
      traceback: expect.any(Array),
      current_inputs: { image: [expect.stringMatching(/^tensor\(/)], message: ["boom"], exception_type: ["ValueError"] },
      current_outputs: ["1", "2", "3"],
      timestamp: expect.any(Number),
    });
    expect((error!.data.traceback as string[]).every((frame) => /^ {2}File ".+", line \d+, in \w+\n/.test(frame))).toBe(true);
    const types = ws.messages.map((m) => m.type);
    expect(types).not.toContain("execution_success");
    expect(types.slice(types.indexOf("execution_error"))).toEqual(["execution_error", "status", "executing"]);

    const entry = await waitForHistory(emulator, promptId);
    const status = entry.status as { status_str: string; completed: boolean; messages: Array<[string, unknown]> };
    expect(status.status_str).toBe("error");
    expect(status.completed).toBe(false);
    expect(status.messages.map(([event]) => event)).toEqual(["execution_start", "execution_cached", "execution_error"]);
    expect(status.messages[2]?.[1]).toEqual(error?.data);
    expect(entry.outputs).toEqual({});
  });

  it("words a CUDA out-of-memory error like torch and appends ComfyUI's OOM tips", async ({ expect }) => {
    const emulator = await startTestEmulator({ vramMb: 24_576 });
    const ws = await WsRecorder.connect(emulator, "c");
    const promptId = await queuePrompt(emulator, { "1": { class_type: "OOMEmu", inputs: { allocate_gb: 20 } } }, "c");
    await ws.waitForDone(promptId);
    const error = ws.messages.find((m) => m.type === "execution_error")?.data;
    expect(error?.exception_type).toBe("torch.OutOfMemoryError");
    const message = error?.exception_message as string;
    expect(message).toMatch(/^CUDA out of memory\. Tried to allocate 20\.00 GiB\. GPU 0 has a total capacity of 24\.00 GiB of which /);
    expect(message).toContain("PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True");
    expect(
      message.endsWith(
        "\nThis error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.",
      ),
    ).toBe(true);
    expect(error?.executed).toEqual([]);
  });

  it("raises the same OOM for an EmptyImage batch too large for the emulated GPU", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const promptId = await queuePrompt(
      emulator,
      {
        "1": { class_type: "EmptyImage", inputs: { width: 16384, height: 16384, batch_size: 64, color: 0 } },
        "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "big" } },
      },
      "c",
    );
    await ws.waitForDone(promptId);
    const error = ws.messages.find((m) => m.type === "execution_error")?.data;
    expect(error).toMatchObject({ node_id: "1", node_type: "EmptyImage", exception_type: "torch.OutOfMemoryError" });
    expect(error?.current_inputs).toEqual({ width: [16384], height: [16384], batch_size: [64], color: [0] });
  });

  it("fails a SaveImage whose prefix escapes the output dir with ComfyUI's exception", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c");
    const promptId = await queuePrompt(
      emulator,
      { "1": image, "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "../escape/x" } } },
      "c",
    );
    await ws.waitForDone(promptId);
    const error = ws.messages.find((m) => m.type === "execution_error")?.data;
    expect(error?.exception_type).toBe("Exception");
    expect(error?.exception_message).toMatch(/^\*\*\*\* ERROR: Saving image outside the output folder is not allowed\.\n full_output_folder: /);
    expect((error!.current_inputs as Record<string, unknown>).filename_prefix).toEqual(["../escape/x"]);
    expect((error!.current_inputs as Record<string, unknown>).extra_pnginfo).toEqual([null]);
  });

  it("sends no execution_* events without a client_id, but broadcasts progress_state", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "watcher");
    const promptId = await queuePrompt(emulator, { "1": { class_type: "RaiseErrorEmu", inputs: { message: "x", exception_type: "RuntimeError" } } }, undefined);
    const entry = await waitForHistory(emulator, promptId);
    expect((entry.status as { status_str: string }).status_str).toBe("error");
    // ComfyUI routes progress_state to server.client_id, which is None here: a broadcast.
    expect(new Set(ws.messages.map((m) => m.type))).toEqual(new Set(["status", "progress_state"]));
  });
});
