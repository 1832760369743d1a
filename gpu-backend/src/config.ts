/**
 * Every setting gpu-backend reads from its environment, with its default and its documentation.
 *
 * This table is the only place a setting is declared: `Config` is inferred from it (each setting
 * under its camelCase name), `loadConfig` parses `process.env` with it, and
 * `npm run config:gen -w gpu-backend` renders `gpu-backend/.env.example` and
 * `docs/gpu-backend-config.md` from it (a test fails when they drift). Defaults are the safe,
 * cheap choice (loopback only, one job at a time); secrets have no default, so a host without
 * them refuses to start instead of running unauthenticated.
 */

import { isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { JSONWebKeySet } from "jose";
import { z } from "zod";
import { isLoopbackHost } from "../../src/protocol/loopback.ts";
import { HOST_ID } from "../../src/protocol/messages.ts";
import {
  DEFAULT_DENIED_NODE_CLASSES,
  DEFAULT_FILE_INPUTS,
  type FileInputs,
  isClassList,
  isFileInputList,
  parseClassList,
  parseFileInputs,
} from "../../src/protocol/node-policy.ts";
import { secretBytes } from "../../src/protocol/standard-webhooks.ts";

export type SettingKind = "var" | "secret";

export interface Setting {
  schema: z.ZodType;
  kind: SettingKind;
  doc: string;
  /** Shown in .env.example instead of the default (secrets have none). */
  example?: string;
}

/** gpu-backend's own folder: relative LOCK_FILE paths are resolved against it, not the cwd. */
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/** The lock file a host uses unless LOCK_FILE names another (relative to PACKAGE_DIR). */
export const DEFAULT_LOCK_FILE = "locks/emulator.lock.json";

/** LOCK_FILE as the service reads it, for the command-line tools that act on the same lock. */
export function lockFileFromEnv(env: Record<string, string | undefined>): string {
  return resolve(PACKAGE_DIR, env.LOCK_FILE ?? DEFAULT_LOCK_FILE);
}

const int = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const ms = (fallback: number, min = 1, max = 86_400_000) => int(fallback, min, max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v));

const absolutePath = z
  .string()
  .min(1)
  .refine((v) => isAbsolute(v), "must be an absolute path")
  .transform((v) => resolve(v));
const optionalAbsolutePath = optionalString.pipe(
  z
    .string()
    .refine((v) => isAbsolute(v), "must be an absolute path")
    .transform((v) => resolve(v))
    .optional(),
);

const webhookSecret = z.string().refine((v) => {
  if (!v.startsWith("whsec_")) return false;
  try {
    return secretBytes(v).length >= 24;
  } catch {
    return false;
  }
}, "must be whsec_ followed by the base64 of at least 24 random bytes");

export const edgeUrl = z
  .string()
  .url()
  .transform((v) => new URL(v))
  .refine((u) => u.protocol === "https:" || (u.protocol === "http:" && isLoopbackHost(u.hostname)), "must be https:// (plain http only to a loopback address)")
  .refine(
    (u) => (u.pathname === "/" || u.pathname === "") && u.search === "" && u.hash === "" && u.username === "" && u.password === "",
    "must be an origin only (no path, query, fragment or credentials)",
  )
  .transform((u) => u.origin);

const comfyUrl = z
  .string()
  .url()
  .transform((v) => new URL(v))
  .refine((u) => u.protocol === "http:" || u.protocol === "https:", "must be http:// or https://")
  .refine((u) => isLoopbackHost(u.hostname), "must be a loopback address: ComfyUI has no authentication of its own")
  .transform((u) => u.origin);

/** Only public Ed25519 keys with a `kid`: a private key here would be a leaked edge secret. */
const jwksSchema = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: 'must be JSON (the edge\'s public JWKS, {"keys": [...]})' });
      return z.NEVER;
    }
  })
  .pipe(
    z.object({
      keys: z
        .array(
          z
            .object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().min(1), kid: z.string().min(1) })
            .passthrough()
            .refine((k) => !("d" in k), 'contains a private key ("d"): pin only the public JWKS'),
        )
        .min(1, "must hold at least one key"),
    }),
  )
  .transform((v) => v as unknown as JSONWebKeySet);

const stringList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === "") return [] as string[];
    try {
      const parsed = JSON.parse(v) as unknown;
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed as string[];
    } catch {
      // reported below
    }
    ctx.addIssue({ code: "custom", message: 'must be a JSON array of strings, e.g. ["main.py","--port","8188"]' });
    return z.NEVER;
  });

export const settings = {
  HOST_ID: {
    kind: "var",
    schema: z.string().regex(HOST_ID, "1-63 of a-z, 0-9 and -, starting with a letter or digit"),
    doc: "This host's id, as registered at the edge. Edge requests addressed to another id are refused.",
    example: "gpu-1",
  },
  EDGE_URL: {
    kind: "var",
    schema: edgeUrl,
    doc: "Origin of the edge Worker that heartbeats, job events, inputs and outputs go to. https only (plain http only to loopback, for local runs).",
    example: "https://api.example.com",
  },
  HOST_SECRET: {
    kind: "secret",
    schema: webhookSecret,
    doc: "This host's Standard Webhooks secret (`whsec_…`), shared with the edge; signs every host → edge request.",
    example: "whsec_<base64 of 32 random bytes>",
  },
  HOST_SECRET_PREVIOUS: {
    kind: "secret",
    schema: z
      .string()
      .optional()
      .transform((v) =>
        (v ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
      )
      .pipe(z.array(webhookSecret)),
    doc: "During a secret rotation: comma-separated previous secrets. Requests carry one signature per secret, so the edge accepts them whichever it holds. Empty otherwise.",
    example: "",
  },
  EDGE_JWKS: {
    kind: "secret",
    schema: jwksSchema,
    doc: "The edge's public signing keys (JWKS JSON), pinned: every edge → host request must carry an EdDSA JWT signed by one of them. When the edge rolls its key over, heartbeat replies hand the host the new set signed by a key pinned here, so the pin follows without a restart.",
    example: '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"…","kid":"…","alg":"EdDSA","use":"sig"}]}',
  },
  EDGE_JWKS_FILE: {
    kind: "var",
    schema: optionalAbsolutePath,
    doc: "Where the edge keys learned from heartbeat replies are kept across restarts (absolute path, outside ComfyUI's folders). Used only while EDGE_JWKS is the pin it was written under; unset: a restarted host starts from EDGE_JWKS again.",
  },
  BOOTSTRAP_TOKEN: {
    kind: "secret",
    schema: optionalString,
    doc: "Instead of HOST_SECRET and EDGE_JWKS (a launched host, e.g. by the autoscaler): a one-time token (`cbt_…`) the host trades at the edge, once, on start, for both. Useless after its first use or its expiry. Never set it together with HOST_SECRET.",
    example: "",
  },
  BOOTSTRAP_WAIT_MS: {
    kind: "var",
    schema: ms(120_000, 1_000, 3_600_000),
    doc: "How long a host with BOOTSTRAP_TOKEN keeps trying the exchange (the edge may not know a just-launched host yet, or may be unreachable for a moment) before it gives up and exits.",
  },
  LISTEN_HOST: {
    kind: "var",
    schema: z.string().min(1).default("127.0.0.1"),
    doc: "Address the host API binds. Keep loopback and publish it through a Cloudflare Tunnel; every request is signature-checked either way.",
  },
  PORT: { kind: "var", schema: int(8288, 0, 65535), doc: "TCP port of the host API (0 = any free port)." },
  COMFY_URL: {
    kind: "var",
    schema: comfyUrl.default("http://127.0.0.1:8188"),
    doc: "ComfyUI's HTTP origin. Must be loopback: ComfyUI has no authentication.",
  },
  COMFY_COMMAND: {
    kind: "var",
    schema: optionalString,
    doc: "If set, gpu-backend starts ComfyUI itself with this command (e.g. `/opt/venv/bin/python`), waits for `/system_stats`, and restarts it with backoff when it dies. Empty = ComfyUI is run by something else.",
  },
  COMFY_ARGS: {
    kind: "var",
    schema: stringList,
    doc: 'Arguments of COMFY_COMMAND as a JSON array of strings, e.g. `["main.py","--listen","127.0.0.1","--port","8188","--disable-auto-launch"]`.',
  },
  COMFY_CWD: { kind: "var", schema: optionalString, doc: "Working directory of COMFY_COMMAND (default: COMFY_DIR, else the current directory)." },
  COMFY_DIR: {
    kind: "var",
    schema: optionalString,
    doc: "ComfyUI's checkout. When set, the lock file is also checked on disk at start: ComfyUI and custom-node git commits, model files' size and SHA-256.",
  },
  COMFY_BASE_DIR: {
    kind: "var",
    schema: absolutePath,
    doc: "ComfyUI's base directory, as its `--base-directory` (without that flag: the ComfyUI checkout). Its `input/`, `output/` and `temp/` folders hold each job's own subfolders and previews, which gpu-backend deletes when the job ends and sweeps when left over (ComfyUI has no API for it). Required: per-job folders cannot be turned off.",
    example: "/opt/comfyui",
  },
  COMFY_INPUT_DIR: {
    kind: "var",
    schema: optionalAbsolutePath,
    doc: "ComfyUI's input folder when it is not `COMFY_BASE_DIR/input` (ComfyUI's `--input-directory`).",
  },
  COMFY_OUTPUT_DIR: {
    kind: "var",
    schema: optionalAbsolutePath,
    doc: "ComfyUI's output folder when it is not `COMFY_BASE_DIR/output` (ComfyUI's `--output-directory`).",
  },
  COMFY_TEMP_DIR: {
    kind: "var",
    schema: optionalAbsolutePath,
    doc: "ComfyUI's temp folder (previews) when it is not `COMFY_BASE_DIR/temp` (ComfyUI's `--temp-directory`, which ComfyUI uses as the parent of `temp/`: give the `temp` folder itself here). Must not be or contain the input or output folder: old files in it are swept.",
  },
  FILE_INPUT_NODES: {
    kind: "var",
    schema: z.string().refine(isFileInputList, "must be a comma-separated list of Class.input pairs").default(DEFAULT_FILE_INPUTS),
    doc: "Inputs that name a file on this host (`Class.input`, comma-separated), on top of every input ComfyUI's `/object_info` marks as an upload (`image_upload` …). Each must be filled by an input the edge sent (the host places the file and sets the name); any other value (a file name, a path, a ` [temp]` suffix, a link) fails the job with `invalid_workflow` before ComfyUI sees it.",
  },
  DENIED_NODE_CLASSES: {
    kind: "var",
    schema: z.string().refine(isClassList, "must be a comma-separated list of node class names").default(DEFAULT_DENIED_NODE_CLASSES),
    doc: "Node classes never run here (they write model files, read whole folders or send images elsewhere), on top of ComfyUI's API nodes and any class outside the lock file's allowed set. A workflow using one fails with `invalid_workflow`.",
  },
  MAX_JOB_DEADLINE_MS: {
    kind: "var",
    schema: ms(3_600_000, 1_000),
    doc: "Longest `deadline_ms` a dispatch may ask for (longer: 422). Also the age past which files left in ComfyUI's folders by no held job are swept. Keep it at or above the edge's JOB_TIMEOUT_SECONDS.",
  },
  SWEEP_INTERVAL_MS: {
    kind: "var",
    schema: ms(300_000, 1_000),
    doc: "How often leftovers are swept from the per-job folders and ComfyUI's temp folder (also once at start): anything older than MAX_JOB_DEADLINE_MS that no held job owns.",
  },
  COMFY_START_TIMEOUT_MS: {
    kind: "var",
    schema: ms(300_000),
    doc: "How long a started ComfyUI may take to answer `/system_stats` before it is killed and started again.",
  },
  COMFY_RESTART_BACKOFF_MS: { kind: "var", schema: ms(1_000), doc: "First delay before restarting a ComfyUI that died; doubles per quick failure." },
  COMFY_RESTART_BACKOFF_MAX_MS: { kind: "var", schema: ms(60_000), doc: "Longest delay between ComfyUI restarts." },
  COMFY_REQUEST_TIMEOUT_MS: {
    kind: "var",
    schema: ms(10_000),
    doc: "Timeout of one HTTP request to ComfyUI other than a file transfer (see TRANSFER_TIMEOUT_MS).",
  },
  COMFY_LOST_TIMEOUT_MS: {
    kind: "var",
    schema: ms(30_000),
    doc: "ComfyUI unreachable this long means it is lost: its jobs fail with the retryable `host_error` (and a supervised ComfyUI is killed and restarted). A supervised ComfyUI that exits is lost at once.",
  },
  SLOTS: {
    kind: "var",
    schema: int(1, 1, 32),
    doc: "Jobs this host runs at once. ComfyUI executes one prompt at a time per process, so 1 per ComfyUI; more makes jobs wait in ComfyUI's own queue.",
  },
  PREFETCH: {
    kind: "var",
    schema: int(2, 0, 32),
    doc: "Jobs accepted beyond SLOTS. Their inputs are fetched and uploaded and they are queued in ComfyUI while earlier jobs run, so the GPU does not idle between jobs (2 kept a 250 ms-per-job stream ≥ 0.97 busy in bench/dispatch.ts; 1 gave 0.95). 0 = one dispatch round-trip of idle time between jobs. The edge allows at most 2 beyond SLOTS.",
  },
  HEARTBEAT_INTERVAL_MS: { kind: "var", schema: ms(10_000, 100), doc: "How often the host heartbeats to the edge (keep it well under the edge's lease TTL)." },
  STUCK_TIMEOUT_MS: {
    kind: "var",
    schema: ms(60_000, 100),
    doc: "A running prompt with no ComfyUI event for this long triggers a WebSocket reconnect and a `/queue` + `/history` check (a silently dropped socket stops receiving events).",
  },
  HISTORY_POLL_MS: {
    kind: "var",
    schema: ms(2_000, 20),
    doc: "How often `/queue` and `/history` are polled for jobs in ComfyUI, as a backstop for lost WebSocket events.",
  },
  PROGRESS_INTERVAL_MS: { kind: "var", schema: ms(500, 0), doc: "At most one `job.progress` event per job per this interval (the latest value wins)." },
  CANCEL_RETRY_MS: { kind: "var", schema: ms(1_000, 10), doc: "While a cancel or deadline waits for ComfyUI to confirm, the interrupt is re-sent this often." },
  DRAIN_GRACE_MS: {
    kind: "var",
    schema: ms(25_000, 0),
    doc: "On SIGTERM: running jobs may finish within this time; then they are interrupted and handed back (`host_draining`). Give the process manager a longer stop timeout.",
  },
  EDGE_REQUEST_TIMEOUT_MS: { kind: "var", schema: ms(15_000), doc: "Timeout of one heartbeat or event request to the edge." },
  TRANSFER_TIMEOUT_MS: {
    kind: "var",
    schema: ms(300_000),
    doc: "Timeout of one file transfer: an input downloaded from the edge or uploaded to ComfyUI, an output read from ComfyUI or uploaded to the edge.",
  },
  PREVIEW_UPLOAD_TIMEOUT_MS: {
    kind: "var",
    schema: ms(5_000, 100, 60_000),
    doc: "Timeout of one sampler preview upload to the edge (jobs whose dispatch carries preview terms). Never retried: a newer frame replaces a lost one. A job's terminal event waits at most this long for a preview upload in flight, so none reaches the edge after it.",
  },
  EDGE_RETRY_ATTEMPTS: {
    kind: "var",
    schema: int(6, 1, 100),
    doc: "Tries of a host → edge request that meets a network error or a 5xx (never retried on a 4xx).",
  },
  EDGE_RETRY_BASE_MS: { kind: "var", schema: ms(250), doc: "First retry delay of host → edge requests; doubles per try, with jitter." },
  EDGE_RETRY_MAX_DELAY_MS: { kind: "var", schema: ms(10_000), doc: "Longest delay between two tries of a host → edge request." },
  MAX_DISPATCH_BYTES: { kind: "var", schema: int(5 * 1024 * 1024, 1024, 1024 ** 3), doc: "Largest edge request body accepted (413 above)." },
  MAX_INPUT_BYTES: {
    kind: "var",
    schema: int(100 * 1024 * 1024, 1, 1024 ** 4),
    doc: "Largest input file downloaded from the edge (ComfyUI's own upload limit is 100 MB by default).",
  },
  MAX_OUTPUT_BYTES: {
    kind: "var",
    schema: int(1024 ** 3, 1, 1024 ** 4),
    doc: "Largest single output file; a larger one fails the job with `output_upload_failed`.",
  },
  LOCK_FILE: {
    kind: "var",
    schema: z.string().min(1).default(DEFAULT_LOCK_FILE),
    doc: "The host's lock file (ComfyUI commit, custom nodes, Python requirements, models); a relative path is resolved against the gpu-backend folder. Checked at start; its hash is reported in heartbeats. The default is the emulator's.",
  },
  LOCK_VERIFY_MODELS: {
    kind: "var",
    schema: z.enum(["sha256", "size"]).default("sha256"),
    doc: "With COMFY_DIR set: check model files by full SHA-256 (slow for large models, certain) or by size only.",
  },
  MODEL_CACHE_DIR: {
    kind: "var",
    schema: optionalAbsolutePath,
    doc: "Where model files fetched on demand are kept, by SHA-256 (`sha256/<hash>`, verified before they get that name; `tmp/` holds downloads under way). ComfyUI sees them through symlinks in `COMFY_BASE_DIR/models`. Default: `COMFY_BASE_DIR/model-cache`. Must be apart from the models, input, output and temp folders.",
  },
  MODEL_CACHE_BUDGET_GB: {
    kind: "var",
    schema: z.coerce.number().positive().max(1_000_000).default(100),
    doc: "Most disk space the model cache may use, in GiB (1024³ bytes; fractions allowed). Least recently used files that no job uses and no pool pins are evicted to stay within it; a model that cannot fit is refused.",
  },
  LOG_LEVEL: { kind: "var", schema: z.enum(["debug", "info", "warn", "error"]).default("info"), doc: "Lowest level of the JSON log lines written to stdout." },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;

/** The environment as the table parses it, one key per setting. */
const envSchema = z.object(
  Object.fromEntries(Object.entries(settings).map(([name, s]) => [name, s.schema])) as {
    [K in SettingName]: (typeof settings)[K]["schema"];
  },
);
type Env = z.output<typeof envSchema>;

/** `COMFY_RESTART_BACKOFF_MS` → `comfyRestartBackoffMs`: the name a setting has in `Config`. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}` : Lowercase<S>;

function camelKeys<T extends Record<string, unknown>>(values: T): { [K in keyof T & string as CamelCase<K>]: T[K] } {
  const camel = (name: string) => name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [camel(name), value])) as { [K in keyof T & string as CamelCase<K>]: T[K] };
}

export interface ComfyDirs {
  base: string;
  input: string;
  output: string;
  temp: string;
}

/**
 * Every setting under its camelCase name, except the few the service needs combined or parsed
 * further: only those are named here.
 */
function toConfig(env: Env) {
  const {
    HOST_SECRET,
    HOST_SECRET_PREVIOUS,
    BOOTSTRAP_TOKEN,
    COMFY_BASE_DIR,
    COMFY_INPUT_DIR,
    COMFY_OUTPUT_DIR,
    COMFY_TEMP_DIR,
    FILE_INPUT_NODES,
    DENIED_NODE_CLASSES,
    LOCK_FILE,
    MODEL_CACHE_DIR,
    MODEL_CACHE_BUDGET_GB,
    ...plain
  } = env;
  const comfyDirs: ComfyDirs = {
    base: COMFY_BASE_DIR,
    input: COMFY_INPUT_DIR ?? resolve(COMFY_BASE_DIR, "input"),
    output: COMFY_OUTPUT_DIR ?? resolve(COMFY_BASE_DIR, "output"),
    temp: COMFY_TEMP_DIR ?? resolve(COMFY_BASE_DIR, "temp"),
  };
  const fileInputs: FileInputs = parseFileInputs(FILE_INPUT_NODES);
  const deniedNodeClasses: ReadonlySet<string> = parseClassList(DENIED_NODE_CLASSES);
  return {
    ...camelKeys(plain),
    /** Set only when given together with HOST_SECRET (a mistake crossFieldProblems reports): bootstrap.ts consumes it otherwise. */
    bootstrapTokenLeft: BOOTSTRAP_TOKEN !== undefined,
    /** Current secret first, then previous ones (all sign every request). */
    hostSecrets: [HOST_SECRET, ...HOST_SECRET_PREVIOUS],
    /** ComfyUI's folders (absolute): every job gets its own subfolder in each. */
    comfyDirs,
    /** FILE_INPUT_NODES (object_info's upload inputs are added when ComfyUI is read). */
    fileInputs,
    deniedNodeClasses,
    lockFile: resolve(PACKAGE_DIR, LOCK_FILE),
    modelCacheDir: MODEL_CACHE_DIR ?? resolve(COMFY_BASE_DIR, "model-cache"),
    modelCacheBudgetBytes: Math.floor(MODEL_CACHE_BUDGET_GB * 1024 ** 3),
  };
}

const configSchema = envSchema.transform(toConfig);
export type Config = z.output<typeof configSchema>;

/** Inside (or equal to) `parent`. */
function within(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Rules between settings, checked once each one is valid on its own. */
function crossFieldProblems(cfg: Config): string[] {
  const problems: string[] = [];
  if (cfg.bootstrapTokenLeft) problems.push("BOOTSTRAP_TOKEN: set together with HOST_SECRET; give a host one or the other");
  if (cfg.comfyRestartBackoffMaxMs < cfg.comfyRestartBackoffMs) problems.push("COMFY_RESTART_BACKOFF_MAX_MS: must not be below COMFY_RESTART_BACKOFF_MS");
  if (cfg.comfyArgs.length > 0 && cfg.comfyCommand === undefined) problems.push("COMFY_ARGS: set without COMFY_COMMAND");
  for (const other of ["input", "output"] as const) {
    if (within(cfg.comfyDirs[other], cfg.comfyDirs.temp) || within(cfg.comfyDirs.temp, cfg.comfyDirs[other]))
      problems.push(`COMFY_TEMP_DIR: the temp folder must be apart from the ${other} folder (old files in it are swept)`);
  }
  for (const [name, dir] of [["models", resolve(cfg.comfyDirs.base, "models")], ...Object.entries(cfg.comfyDirs).filter(([k]) => k !== "base")] as const) {
    if (within(cfg.modelCacheDir, dir) || within(dir, cfg.modelCacheDir))
      problems.push(`MODEL_CACHE_DIR: the model cache must be apart from the ${name} folder`);
  }
  return problems;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/**
 * Parses an environment. Problems name the variable and the rule, never the value (it may be a
 * secret): one line per variable, in the table's order.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const raw: Record<string, string | undefined> = {};
  // An empty variable means unset (its default applies); an empty secret is refused as given.
  for (const [name, setting] of Object.entries(settings) as [SettingName, Setting][])
    raw[name] = env[name] === "" && setting.kind === "var" ? undefined : env[name];
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = Object.keys(settings).flatMap((name) => {
      const issues = parsed.error.issues.filter((i) => i.path[0] === name);
      if (issues.length === 0) return [];
      return [`${name}: ${env[name] === undefined ? "is required" : issues.map((i) => i.message).join("; ")}`];
    });
    return { ok: false, problems };
  }
  const problems = crossFieldProblems(parsed.data);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: parsed.data };
}
