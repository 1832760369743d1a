// Runs the ComfyUI emulator CLI as its own process, as ComfyUI runs on a GPU host, for the local
// stack and the benchmarks. It binds port 0 and the URL is read from its start-up line (the one
// ComfyUI prints), so no port is picked in advance and none can be taken by someone else meanwhile.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeFakeModel } from "../../gpu-backend/emulator/models/safetensors.ts";
import { type DevModel, writeDevModels } from "./dev-models.ts";
import { captureOutput, ROOT } from "./wrangler-dev.ts";

const MAIN = join(ROOT, "gpu-backend/emulator/main.ts");
const START_TIMEOUT_MS = 15_000;

export interface EmulatorProcess {
  url: string;
  port: number;
  /** Its `--base-dir`: ComfyUI's input/, output/, temp/ and models/ live under it (gpu-backend's COMFY_BASE_DIR). */
  baseDir: string;
  child: ChildProcess;
  output(): string;
  /** Stops it (SIGTERM, then SIGKILL after 3 s) and removes its temp base folder. */
  stop(): Promise<void>;
}

export interface EmulatorProcessOptions {
  /** Echo its output on this process's stdout. */
  echo?: boolean;
  /** Where ComfyUI's folders live (default: a temp folder removed on stop). */
  baseDir?: string;
  /** Put the dev models (dev-models.ts) in `<base>/models` first; default true. */
  devModels?: boolean;
  /** More fake model files to put there (benchmarks: checkpoints of a chosen size). */
  extraModels?: readonly DevModel[];
}

export async function startEmulatorProcess(args: string[], opts: EmulatorProcessOptions = {}): Promise<EmulatorProcess> {
  const ownBase = opts.baseDir === undefined;
  const base = resolve(opts.baseDir ?? mkdtempSync(join(tmpdir(), "comfyui-emulator-")));
  if (opts.devModels ?? true) writeDevModels(join(base, "models"));
  for (const m of opts.extraModels ?? []) writeFakeModel(join(base, "models", m.folder, m.name), m);
  // Its own process group, so stop() reaches anything it started.
  const child = spawn(process.execPath, [MAIN, "--port", "0", "--base-dir", base, ...args], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const output = captureOutput(child, opts.echo ?? false);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    signal("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
    signal("SIGKILL");
    if (ownBase) rmSync(base, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const m = /To see the GUI go to: (http:\/\/\S+)/.exec(output());
    if (m?.[1]) return { url: m[1], port: Number(new URL(m[1]).port), baseDir: base, child, output, stop };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the ComfyUI emulator did not start:\n${output().slice(-4_000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
