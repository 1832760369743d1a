// executionLog: the emulator-only journal soak tests count executions with. One line per finished
// prompt (success, error, interrupted), none for a prompt the process died in, appended across
// restarts of the process on the same file.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, onTestFinished } from "vitest";
import { minimalPrompt, queuePrompt, startTestEmulator, WsRecorder } from "./harness.ts";

function logFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "emu-exec-log-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "executions.jsonl");
}

const lines = (file: string) =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { prompt_id: string; status: string; interrupted: boolean; prompt: Record<string, { class_type: string }> });

describe("execution log", () => {
  it("records each finished prompt with its outcome and the prompt, appending across processes", async ({ expect }) => {
    const file = logFile();
    const first = await startTestEmulator({ executionLog: file });
    const ws = await WsRecorder.connect(first, "c");
    const ok = await queuePrompt(first, minimalPrompt("ok"), "c");
    await ws.waitForDone(ok);
    const failing = {
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      "2": { class_type: "RaiseErrorEmu", inputs: { image: ["1", 0], message: "boom", exception_type: "RuntimeError" } },
    };
    const bad = await queuePrompt(first, failing, "c");
    await ws.waitForDone(bad);
    await first.close();

    const second = await startTestEmulator({ executionLog: file });
    const ws2 = await WsRecorder.connect(second, "d");
    const again = await queuePrompt(second, minimalPrompt("again", 9, 9), "d");
    await ws2.waitForDone(again);

    const got = lines(file);
    expect(got.map((l) => [l.prompt_id, l.status, l.interrupted])).toEqual([
      [ok, "success", false],
      [bad, "error", false],
      [again, "success", false],
    ]);
    expect(got[1]!.prompt["2"]!.class_type).toBe("RaiseErrorEmu");
  });

  it("writes nothing for a prompt the process died in", async ({ expect }) => {
    const file = logFile();
    const emulator = await startTestEmulator({ executionLog: file });
    const ws = await WsRecorder.connect(emulator, "c");
    const done = await queuePrompt(emulator, minimalPrompt("before"), "c");
    await ws.waitForDone(done);
    await queuePrompt(
      emulator,
      {
        "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
        "2": { class_type: "CrashEmu", inputs: { image: ["1", 0] } },
      },
      "c",
    );
    await emulator.crashed;
    expect(lines(file).map((l) => l.prompt_id)).toEqual([done]);
  });
});
