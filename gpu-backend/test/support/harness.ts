/**
 * One test's world, all real and all on 127.0.0.1: an in-process ComfyUI emulator, the fake edge,
 * and the gpu-backend service built from an environment through `loadConfig` (so every test also
 * exercises the config parser). Timings are shortened so failures show up in milliseconds, never
 * asserted. Everything is closed when the test ends; on failure the service log is printed.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { onTestFailed, onTestFinished } from "vitest";
import { type EmulatorHandle, type StartOptions, startEmulator } from "../../emulator/index.ts";
import { type ServiceHandle, startService } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { FakeEdge } from "./fake-edge.ts";

/** Test defaults: fast polls and retries, long enough lost/stuck timeouts not to fire by accident. */
export const TEST_ENV: Record<string, string> = {
  PORT: "0",
  HEARTBEAT_INTERVAL_MS: "250",
  HISTORY_POLL_MS: "150",
  STUCK_TIMEOUT_MS: "10000",
  PROGRESS_INTERVAL_MS: "0",
  CANCEL_RETRY_MS: "100",
  COMFY_LOST_TIMEOUT_MS: "3000",
  COMFY_REQUEST_TIMEOUT_MS: "3000",
  EDGE_RETRY_BASE_MS: "20",
  EDGE_RETRY_MAX_DELAY_MS: "100",
  DRAIN_GRACE_MS: "5000",
  LOG_LEVEL: "debug",
};

export interface Harness {
  emulator: EmulatorHandle;
  edge: FakeEdge;
  service: ServiceHandle;
  logs: string[];
}

export interface HarnessOptions {
  env?: Record<string, string>;
  emulator?: StartOptions;
  /** Where the service finds ComfyUI (e.g. a proxy in front of the emulator). */
  comfyUrl?: (emulator: EmulatorHandle) => string | Promise<string>;
  /** Runs once the emulator is up, before the service starts. */
  beforeService?: (emulator: EmulatorHandle) => Promise<void>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const emulator = await startEmulator({ port: 0, stepMs: 5, ...opts.emulator });
  const edge = await FakeEdge.start();
  const logs: string[] = [];
  let service: ServiceHandle | undefined;
  onTestFinished(async () => {
    await service?.close();
    await edge.close();
    await emulator.close();
  });
  onTestFailed(() => {
    console.log(`--- gpu-backend log (last 80 lines) ---\n${logs.slice(-80).join("\n")}`);
  });
  await opts.beforeService?.(emulator);
  const loaded = loadConfig({
    ...edge.hostEnv(),
    COMFY_URL: opts.comfyUrl ? await opts.comfyUrl(emulator) : emulator.url,
    ...comfyDirsEnv(emulator),
    ...TEST_ENV,
    ...opts.env,
  });
  if (!loaded.ok) throw new Error(`test config invalid: ${loaded.problems.join("; ")}`);
  service = await startService(loaded.config, { log: createLogger("debug", (line) => logs.push(line)) });
  await waitFor(() => service!.link.state === "ready", 10_000, "ComfyUI ready");
  return { emulator, edge, service, logs };
}

/** The service's view of the emulator's folders (per-job folders need them). */
export function comfyDirsEnv(emulator: Pick<EmulatorHandle, "dirs">): Record<string, string> {
  const { base, input, output, temp } = emulator.dirs;
  return { COMFY_BASE_DIR: base, COMFY_INPUT_DIR: input, COMFY_OUTPUT_DIR: output, COMFY_TEMP_DIR: temp };
}

/** Polls `probe` until it returns something other than undefined/false (bounded). */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The emulator's queue, as ids. */
export async function comfyQueue(emulator: EmulatorHandle): Promise<{ running: string[]; pending: string[] }> {
  const res = await fetch(`${emulator.url}/queue`, { signal: AbortSignal.timeout(3000) });
  const json = (await res.json()) as { queue_running: unknown[][]; queue_pending: unknown[][] };
  return { running: json.queue_running.map((i) => String(i[1])), pending: json.queue_pending.map((i) => String(i[1])) };
}

export async function comfyHistory(emulator: EmulatorHandle, promptId: string): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`${emulator.url}/history/${promptId}`, { signal: AbortSignal.timeout(3000) });
  return ((await res.json()) as Record<string, Record<string, unknown>>)[promptId];
}

/** Every prompt ComfyUI ran (refused prompts never get an entry). */
export async function comfyHistoryAll(emulator: EmulatorHandle): Promise<Record<string, Record<string, unknown>>> {
  const res = await fetch(`${emulator.url}/history`, { signal: AbortSignal.timeout(3000) });
  return (await res.json()) as Record<string, Record<string, unknown>>;
}

/**
 * What jobs left in ComfyUI's folders: everything under the per-job roots (`<input|output|temp>/saas`)
 * and every file at the top of `temp/` (previews), as paths relative to the base folder.
 */
export function jobLeftovers(emulator: Pick<EmulatorHandle, "dirs">): string[] {
  const { base, input, output, temp } = emulator.dirs;
  const under = (dir: string): string[] => {
    try {
      return (readdirSync(dir, { recursive: true }) as string[]).map((p) => join(dir, p));
    } catch {
      return [];
    }
  };
  const found = [
    ...under(join(input, "saas")),
    ...under(join(output, "saas")),
    ...under(join(temp, "saas")),
    ...readdirSync(temp)
      .filter((n) => n !== "saas")
      .map((n) => join(temp, n)),
  ];
  return found.map((p) => p.slice(base.length + 1)).sort();
}
