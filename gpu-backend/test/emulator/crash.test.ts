// Crash: the emulated ComfyUI process dies mid-prompt — connections drop without a close
// frame, nothing more is written — in-process (CrashEmu, crashAtNode) and as a real process
// exit of the CLI.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";
import { minimalPrompt, queuePrompt, startTestEmulator, WsRecorder } from "./harness.ts";

describe("crash", () => {
  it("dies while CrashEmu runs: WebSocket dropped (1006), HTTP refused, crashed resolves", async ({ expect }) => {
    const crashes: number[] = [];
    const emulator = await startTestEmulator({ crashExitCode: 7, onCrash: (code) => crashes.push(code) });
    const ws = await WsRecorder.connect(emulator, "c");
    const closeCode = new Promise<number>((resolve) => ws.socket.once("close", (code) => resolve(code)));
    await queuePrompt(
      emulator,
      {
        "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
        "2": { class_type: "CrashEmu", inputs: { image: ["1", 0] } },
      },
      "c",
    );
    expect(await emulator.crashed).toBe(7);
    expect(await closeCode).toBe(1006);
    expect(crashes).toEqual([7]);
    const types = ws.messages.map((m) => (m.type === "executing" ? `executing ${m.data.node}` : m.type));
    expect(types.at(-1)).toBe("executing 2");
    expect(types).not.toContain("execution_error");
    const after = await fetch(`${emulator.url}/queue`, { signal: AbortSignal.timeout(2000) }).then(
      () => "answered",
      () => "refused",
    );
    expect(after).toBe("refused");
  });

  it("dies when the Nth node since start-up begins (crashAtNode)", async ({ expect }) => {
    const emulator = await startTestEmulator({ crashAtNode: 3 });
    const ws = await WsRecorder.connect(emulator, "c");
    const first = await queuePrompt(emulator, minimalPrompt("one"), "c");
    await ws.waitForDone(first);
    await queuePrompt(emulator, minimalPrompt("two", 9, 9), "c");
    expect(await emulator.crashed).toBe(1);
    await ws.waitForClose();
    const executing = ws.messages.filter((m) => m.type === "executing").map((m) => m.data.node);
    expect(executing).toEqual(["1", "2", null, "1"]);
  });

  it("exits the CLI process with the crash exit code", async ({ expect }) => {
    const main = fileURLToPath(new URL("../../emulator/main.ts", import.meta.url));
    // A crashed process cleans nothing up, so its working dirs live under one this test removes.
    const base = mkdtempSync(join(tmpdir(), "emu-crash-"));
    const child = spawn(process.execPath, [main, "--port", "0", "--crash-exit-code", "3", "--base-dir", base], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`no start-up line: ${out}`)), 10_000);
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const m = /To see the GUI go to: (http:\/\/\S+)/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const res = await fetch(`${url}/prompt`, {
        method: "POST",
        body: JSON.stringify({ prompt: { "1": { class_type: "CrashEmu", inputs: {} } } }),
        signal: AbortSignal.timeout(5000),
      });
      expect(res.status).toBe(200);
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running"), 10_000))]);
      expect(code).toBe(3);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(base, { recursive: true, force: true });
    }
  });
});
