// Start-up delay: like ComfyUI loading its nodes before binding, nothing listens until the delay
// is over (connection refused), then /system_stats answers.
import { describe, it } from "vitest";
import { get, startTestEmulator, WsRecorder } from "./harness.ts";

describe("start-up delay", () => {
  it("refuses connections until ready, then serves /system_stats and the WebSocket", async ({ expect }) => {
    const emulator = await startTestEmulator({ startupDelayMs: 300 });
    expect(emulator.port).toBeGreaterThan(0); // known before the port is bound
    const early = await fetch(`${emulator.url}/system_stats`, { signal: AbortSignal.timeout(2000) }).then(
      () => "answered",
      (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
    );
    expect(early).toBe("ECONNREFUSED");

    await emulator.ready;
    const stats = await get(emulator, "/system_stats");
    expect(stats.status).toBe(200);
    const body = stats.json as { system: Record<string, unknown>; devices: Array<Record<string, unknown>> };
    expect(body.system).toMatchObject({ os: "posix", comfyui_version: "0.3.64", embedded_python: false });
    expect(body.system.argv).toEqual(["main.py", "--listen", "127.0.0.1", "--port", String(emulator.port), "--disable-auto-launch"]);
    expect(body.devices[0]).toMatchObject({ type: "cuda", index: 0, name: "cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync" });
    const ws = await WsRecorder.connect(emulator, "late");
    expect(ws.messages[0]?.data.sid).toBe("late");
  });

  it("is ready at once without a delay", async ({ expect }) => {
    const emulator = await startTestEmulator();
    await expect(emulator.ready).resolves.toBeUndefined();
    expect((await get(emulator, "/system_stats")).status).toBe(200);
  });

  it("can be closed during the delay without ever binding", async ({ expect }) => {
    const emulator = await startTestEmulator({ startupDelayMs: 10_000 });
    await emulator.close();
    await emulator.ready;
    const after = await fetch(`${emulator.url}/system_stats`, { signal: AbortSignal.timeout(2000) }).then(
      () => "answered",
      () => "refused",
    );
    expect(after).toBe("refused");
  });
});
