/**
 * The emulator's knobs: one zod schema is the only source of defaults, used both by
 * `startEmulator(options)` and by the CLI (`--flag value` or `COMFY_EMU_*` environment variables,
 * flags winning). Defaults are what a plain ComfyUI 0.3.64 would do where such a thing exists
 * (port 8188, loopback, 100 MB uploads, no previews, classic cache).
 */
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { z } from "zod";

export const emulatorConfigSchema = z
  .object({
    /** TCP port; 0 picks a free one. */
    port: z.number().int().min(0).max(65535).default(8188),
    /** Listen address. Only loopback unless `allowNonLoopback`: ComfyUI has no auth of its own. */
    host: z.string().min(1).default("127.0.0.1"),
    allowNonLoopback: z.boolean().default(false),
    /** Time of one sampler step (KSampler, KSamplerAdvanced, KSamplerEmu) and of one ImageUpscaleWithModel tile, in ms. */
    stepMs: z.number().int().min(0).default(50),
    /** Extra time every executed node takes, in ms. */
    nodeMs: z.number().int().min(0).default(0),
    /** Before this many ms the port is not bound at all (ComfyUI loads every node before binding). */
    startupDelayMs: z.number().int().min(0).default(0),
    /** Crash (the process dies) when the Nth node since start-up begins executing. */
    crashAtNode: z.number().int().min(1).optional(),
    /** Exit status of an emulated crash. */
    crashExitCode: z.number().int().min(1).max(255).default(1),
    /** Root of the working dirs; a fresh temp dir (removed on close) when absent. */
    baseDir: z.string().min(1).optional(),
    inputDir: z.string().min(1).optional(),
    outputDir: z.string().min(1).optional(),
    tempDir: z.string().min(1).optional(),
    /** `--max-upload-size` in MB: body limit of every request (413) and `/features.max_upload_size`. */
    maxUploadSizeMb: z.number().positive().default(100),
    /** `--enable-cors-header ORIGIN`: adds CORS headers and turns the Origin/Host check off. */
    enableCorsHeader: z.string().min(1).optional(),
    /** `--disable-metadata`: no prompt/workflow text chunks in saved PNGs. */
    disableMetadata: z.boolean().default(false),
    /** `classic` = ComfyUI's default output cache; `none` = `--cache-none` (nothing reused across prompts). */
    cache: z.enum(["classic", "none"]).default("classic"),
    /**
     * `--preview-method`: `none` (ComfyUI's default) sends no sampler previews; `auto` and `latent2rgb` send
     * JPEG previews of the latent's size (width/8 × height/8); `taesd` sends full-size ones when the
     * model family's TAESD decoder is in `vae_approx`, else falls back to latent2rgb (with ComfyUI's warning).
     */
    previewMethod: z.enum(["none", "auto", "latent2rgb", "taesd"]).default("none"),
    /** `--preview-size`: longest side of sampler previews. */
    previewSize: z.number().int().min(1).default(512),
    /** Emulated GPU reported by /system_stats and quoted in out-of-memory messages. */
    gpuName: z.string().min(1).default("NVIDIA H100 80GB HBM3"),
    /** The device's VRAM; model files stay resident while they fit it (minus the 512 MB the CUDA context holds), least recently used evicted first. */
    vramMb: z.number().int().positive().default(81_559),
    /** Models root (ComfyUI: always `<base>/models`); a convenience for pointing the emulator at a models folder without moving input/output. */
    modelsDir: z.string().min(1).optional(),
    /** `--extra-model-paths-config`: extra_model_paths.yaml files, applied in order (flag repeatable; env: paths separated by `:`). */
    extraModelPathsConfig: z.array(z.string().min(1)).default([]),
    /** Load time of a model file that is not resident, in ms per 10⁹ declared bytes (0 = instant). */
    modelLoadMsPerGb: z.number().min(0).default(100),
    /** Loading a model whose `<folder>/<name>` (e.g. `checkpoints/huge.safetensors`) matches this regular expression raises CUDA out of memory. */
    oomModelPattern: z.string().min(1).refine(isRegExp, { message: "must be a valid regular expression" }).optional(),
    /**
     * Emulator-only instrumentation (no ComfyUI counterpart, nothing a client sees changes): append one
     * JSON line per prompt the worker finished — `{prompt_id, status, interrupted, prompt}` — to this
     * file. Soak tests count executions per job with it, across restarts of the process.
     */
    executionLog: z.string().min(1).optional(),
    /** Programmatic use: log ComfyUI-like lines ("got prompt", "Prompt executed in …") to stdout. The CLI always logs. */
    verbose: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.allowNonLoopback || isLoopbackHost(c.host), {
    message: "host must be a loopback address (127.0.0.0/8, ::1, localhost) unless allowNonLoopback is set",
    path: ["host"],
  });

export type EmulatorConfig = z.output<typeof emulatorConfigSchema>;
export type EmulatorConfigInput = z.input<typeof emulatorConfigSchema>;

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(bare) || bare === "::ffff:127.0.0.1";
  return false;
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** `list`: a repeatable flag, or an environment variable of `:`-separated values. */
type Kind = "int" | "number" | "string" | "boolean" | "list";

/** CLI flag ↔ config key ↔ environment variable. */
export const KNOBS: ReadonlyArray<{ flag: string; key: keyof EmulatorConfig; env: string; kind: Kind }> = [
  { flag: "port", key: "port", env: "COMFY_EMU_PORT", kind: "int" },
  { flag: "host", key: "host", env: "COMFY_EMU_HOST", kind: "string" },
  { flag: "allow-non-loopback", key: "allowNonLoopback", env: "COMFY_EMU_ALLOW_NON_LOOPBACK", kind: "boolean" },
  { flag: "step-ms", key: "stepMs", env: "COMFY_EMU_STEP_MS", kind: "int" },
  { flag: "node-ms", key: "nodeMs", env: "COMFY_EMU_NODE_MS", kind: "int" },
  { flag: "startup-delay-ms", key: "startupDelayMs", env: "COMFY_EMU_STARTUP_DELAY_MS", kind: "int" },
  { flag: "crash-at-node", key: "crashAtNode", env: "COMFY_EMU_CRASH_AT_NODE", kind: "int" },
  { flag: "crash-exit-code", key: "crashExitCode", env: "COMFY_EMU_CRASH_EXIT_CODE", kind: "int" },
  { flag: "base-dir", key: "baseDir", env: "COMFY_EMU_BASE_DIR", kind: "string" },
  { flag: "input-dir", key: "inputDir", env: "COMFY_EMU_INPUT_DIR", kind: "string" },
  { flag: "output-dir", key: "outputDir", env: "COMFY_EMU_OUTPUT_DIR", kind: "string" },
  { flag: "temp-dir", key: "tempDir", env: "COMFY_EMU_TEMP_DIR", kind: "string" },
  { flag: "max-upload-size", key: "maxUploadSizeMb", env: "COMFY_EMU_MAX_UPLOAD_SIZE", kind: "number" },
  { flag: "enable-cors-header", key: "enableCorsHeader", env: "COMFY_EMU_ENABLE_CORS_HEADER", kind: "string" },
  { flag: "disable-metadata", key: "disableMetadata", env: "COMFY_EMU_DISABLE_METADATA", kind: "boolean" },
  { flag: "cache", key: "cache", env: "COMFY_EMU_CACHE", kind: "string" },
  { flag: "preview-method", key: "previewMethod", env: "COMFY_EMU_PREVIEW_METHOD", kind: "string" },
  { flag: "preview-size", key: "previewSize", env: "COMFY_EMU_PREVIEW_SIZE", kind: "int" },
  { flag: "gpu-name", key: "gpuName", env: "COMFY_EMU_GPU_NAME", kind: "string" },
  { flag: "vram-mb", key: "vramMb", env: "COMFY_EMU_VRAM_MB", kind: "int" },
  { flag: "models-dir", key: "modelsDir", env: "COMFY_EMU_MODELS_DIR", kind: "string" },
  { flag: "extra-model-paths-config", key: "extraModelPathsConfig", env: "COMFY_EMU_EXTRA_MODEL_PATHS_CONFIG", kind: "list" },
  { flag: "model-load-ms-per-gb", key: "modelLoadMsPerGb", env: "COMFY_EMU_MODEL_LOAD_MS_PER_GB", kind: "number" },
  { flag: "oom-model-pattern", key: "oomModelPattern", env: "COMFY_EMU_OOM_MODEL_PATTERN", kind: "string" },
  { flag: "execution-log", key: "executionLog", env: "COMFY_EMU_EXECUTION_LOG", kind: "string" },
];

export type CliResult = { ok: true; config: EmulatorConfig } | { ok: false; help: true } | { ok: false; help: false; error: string };

/** Parses CLI flags over environment variables over defaults. */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliResult {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = { help: { type: "boolean" } };
  for (const knob of KNOBS) options[knob.flag] = { type: knob.kind === "boolean" ? "boolean" : "string", ...(knob.kind === "list" ? { multiple: true } : {}) };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    return { ok: false, help: false, error: (err as Error).message };
  }
  if (values.help === true) return { ok: false, help: true };

  const raw: Record<string, unknown> = {};
  for (const knob of KNOBS) {
    const fromFlag = values[knob.flag];
    const fromEnv = env[knob.env];
    const value = fromFlag ?? (fromEnv === undefined || fromEnv === "" ? undefined : fromEnv);
    if (value === undefined) continue;
    raw[knob.key] = convert(value, knob.kind);
  }
  const parsed = emulatorConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const error = parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ");
    return { ok: false, help: false, error };
  }
  return { ok: true, config: parsed.data };
}

function convert(value: string | boolean | string[], kind: Kind): unknown {
  if (typeof value === "boolean" || Array.isArray(value)) return value;
  switch (kind) {
    case "list":
      return value.split(":").filter((part) => part !== "");
    case "int":
    case "number":
      return value.trim() === "" ? NaN : Number(value);
    case "boolean":
      return ["1", "true", "yes", "on"].includes(value.toLowerCase());
    case "string":
      return value;
  }
}

export function cliHelp(): string {
  const lines = ["Usage: npm run emulator -w gpu-backend -- [flags]", "", "Flags (environment variable in brackets):"];
  for (const knob of KNOBS) {
    const arg = knob.kind === "boolean" ? "" : ` <${knob.kind === "string" || knob.kind === "list" ? "value" : "n"}>`;
    lines.push(`  --${knob.flag}${arg}${knob.kind === "list" ? " (repeatable)" : ""}  [${knob.env}]`);
  }
  return lines.join("\n");
}
