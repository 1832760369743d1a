// The knobs: one zod schema for CLI flags, COMFY_EMU_* variables and startEmulator options;
// loopback-only unless explicitly allowed.
import { describe, it } from "vitest";
import { emulatorConfigSchema, parseCli, startEmulator } from "../../emulator/index.ts";

describe("configuration", () => {
  it("defaults to ComfyUI's port and loopback", ({ expect }) => {
    const result = parseCli([], {});
    expect(result).toMatchObject({ ok: true, config: { port: 8188, host: "127.0.0.1", cache: "classic", previewMethod: "none", maxUploadSizeMb: 100 } });
  });

  it("reads environment variables and lets flags win", ({ expect }) => {
    const env = { COMFY_EMU_PORT: "9000", COMFY_EMU_STEP_MS: "7", COMFY_EMU_DISABLE_METADATA: "true" };
    expect(parseCli([], env)).toMatchObject({ ok: true, config: { port: 9000, stepMs: 7, disableMetadata: true } });
    expect(parseCli(["--port", "9100", "--crash-at-node", "4"], env)).toMatchObject({ ok: true, config: { port: 9100, crashAtNode: 4 } });
  });

  it("rejects bad values, unknown flags and non-loopback hosts unless allowed", ({ expect }) => {
    expect(parseCli(["--port", "eighty"], {})).toMatchObject({ ok: false, help: false });
    expect(parseCli(["--bogus"], {})).toMatchObject({ ok: false, help: false });
    expect(parseCli(["--cache", "lru"], {})).toMatchObject({ ok: false, help: false });
    const remote = parseCli(["--host", "0.0.0.0"], {});
    expect(remote).toMatchObject({ ok: false, help: false, error: expect.stringContaining("loopback") });
    expect(parseCli(["--host", "0.0.0.0", "--allow-non-loopback"], {})).toMatchObject({ ok: true, config: { host: "0.0.0.0" } });
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) expect(emulatorConfigSchema.safeParse({ host }).success).toBe(true);
    expect(parseCli(["--help"], {})).toEqual({ ok: false, help: true });
  });

  it("reads the model knobs: a repeatable --extra-model-paths-config (env: `:`-separated), load time, OOM pattern, preview methods", ({ expect }) => {
    expect(parseCli([], {})).toMatchObject({ ok: true, config: { extraModelPathsConfig: [], modelLoadMsPerGb: 100 } });
    const env = { COMFY_EMU_EXTRA_MODEL_PATHS_CONFIG: "/a.yaml:/b.yaml", COMFY_EMU_MODEL_LOAD_MS_PER_GB: "250" };
    expect(parseCli([], env)).toMatchObject({ ok: true, config: { extraModelPathsConfig: ["/a.yaml", "/b.yaml"], modelLoadMsPerGb: 250 } });
    const flags = [
      "--extra-model-paths-config",
      "/c.yaml",
      "--extra-model-paths-config",
      "/d.yaml",
      "--models-dir",
      "/m",
      "--oom-model-pattern",
      "^checkpoints/xl",
    ];
    expect(parseCli(flags, env)).toMatchObject({
      ok: true,
      config: { extraModelPathsConfig: ["/c.yaml", "/d.yaml"], modelsDir: "/m", oomModelPattern: "^checkpoints/xl" },
    });
    expect(parseCli(["--oom-model-pattern", "(unclosed"], {})).toMatchObject({ ok: false, error: expect.stringContaining("regular expression") });
    for (const method of ["none", "auto", "latent2rgb", "taesd"]) expect(parseCli(["--preview-method", method], {}).ok).toBe(true);
  });

  it("refuses to start on a non-loopback address", async ({ expect }) => {
    await expect(startEmulator({ host: "192.168.1.10", port: 0 })).rejects.toThrow(/loopback/);
  });

  it("uses the working dirs it is given and keeps them on close (temp is wiped)", async ({ expect }) => {
    const { mkdtempSync, existsSync, writeFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const base = mkdtempSync(join(tmpdir(), "emu-config-"));
    try {
      const emulator = await startEmulator({ port: 0, baseDir: base });
      expect(emulator.dirs).toMatchObject({ input: join(base, "input"), output: join(base, "output"), temp: join(base, "temp"), ownsBase: false });
      writeFileSync(join(emulator.dirs.temp, "t.png"), "x");
      await emulator.close();
      expect(existsSync(join(base, "output"))).toBe(true);
      expect(existsSync(join(base, "temp"))).toBe(false);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe("binding", () => {
  it("rejects when the port is taken and leaves nothing behind", async ({ expect }) => {
    const { existsSync } = await import("node:fs");
    const first = await startEmulator({ port: 0 });
    try {
      let second: Awaited<ReturnType<typeof startEmulator>> | undefined;
      const attempt = startEmulator({ port: first.port }).then((e) => (second = e));
      await expect(attempt).rejects.toThrow(/EADDRINUSE/);
      expect(second).toBeUndefined();
      // The first one is unaffected.
      expect((await fetch(`${first.url}/prompt`)).status).toBe(200);
      expect(existsSync(first.dirs.output)).toBe(true);
    } finally {
      await first.close();
    }
    expect(existsSync(first.dirs.base)).toBe(false);
  });
});
