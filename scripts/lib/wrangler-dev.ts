// Starts a real `wrangler dev` of this Worker on a free loopback port with its own state folder,
// for end-to-end tests and benchmarks. It runs in its own process group so stop() ends wrangler,
// workerd and esbuild together.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

export interface WranglerDev {
  url: string;
  port: number;
  stateDir: string;
  /** Runs SQL against the local D1 of this instance (wrangler d1 execute --local); returns the result rows. */
  d1(sqlOrFile: { command: string } | { file: string }): Record<string, unknown>[];
  logs(): string;
  stop(): Promise<void>;
}

/** Keeps the last ~1-2 MB of a child's stdout and stderr (optionally echoing them); returns a reader. */
export function captureOutput(child: ChildProcess, echo: boolean): () => string {
  let output = "";
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
    if (echo) process.stdout.write(d);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => output;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const baseEnv = () => ({ ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" });

export interface WranglerDevOptions {
  readyTimeoutMs?: number;
  /** Keep state here across runs (default: a fresh temp folder, removed on stop). */
  stateDir?: string;
  port?: number;
  /** Secrets file to read (default none: every value comes from `vars`). */
  envFile?: string;
  /** Stream wrangler's output to this process's (for `npm run dev`). */
  inheritOutput?: boolean;
}

/** Tries this many ports when the one picked was taken by another process before wrangler bound it. */
const PORT_ATTEMPTS = 3;

export async function startWranglerDev(vars: Record<string, string>, opts: WranglerDevOptions = {}): Promise<WranglerDev> {
  const ownsState = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "comfyui-saas-e2e-"));
  const d1 = (what: { command: string } | { file: string }) => {
    const arg = "command" in what ? ["--command", what.command] : ["--file", what.file];
    const r = spawnSync(WRANGLER, ["d1", "execute", "DB", "--local", "--env", "dev", "--persist-to", stateDir, "--yes", "--json", ...arg], {
      cwd: ROOT,
      env: baseEnv(),
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`wrangler d1 execute failed: ${r.stderr || r.stdout}`);
    const parsed = JSON.parse(r.stdout) as { results?: Record<string, unknown>[] }[];
    return parsed.flatMap((p) => p.results ?? []);
  };
  const removeState = () => {
    if (ownsState) rmSync(stateDir, { recursive: true, force: true });
  };
  const migrate = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--env", "dev", "--persist-to", stateDir], {
    cwd: ROOT,
    env: baseEnv(),
    encoding: "utf8",
  });
  if (migrate.status !== 0) {
    removeState();
    throw new Error(`migrations failed: ${migrate.stderr || migrate.stdout}`);
  }
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const launched = await launch(vars, opts, stateDir, port);
    if ("stop" in launched) {
      const stop = async () => {
        await launched.stop();
        removeState();
      };
      return { url: launched.url, port, stateDir, d1, logs: launched.logs, stop };
    }
    // A port picked by freePort() can be taken before wrangler binds it: pick another.
    if (launched.portTaken && opts.port === undefined && attempt < PORT_ATTEMPTS) continue;
    removeState();
    throw new Error(launched.error);
  }
}

type Launched = { url: string; logs: () => string; stop: () => Promise<void> } | { error: string; portTaken: boolean };

async function launch(vars: Record<string, string>, opts: WranglerDevOptions, stateDir: string, port: number): Promise<Launched> {
  // The dev environment: wrangler.toml's top level is production.
  const args = ["dev", "--env", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", stateDir, "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  // By default an empty env file keeps a developer's .dev.vars out of the run: tests pass every value.
  args.push("--env-file", opts.envFile ?? "/dev/null");
  const child: ChildProcess = spawn(WRANGLER, args, { cwd: ROOT, env: baseEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const output = captureOutput(child, opts.inheritOutput ?? false);

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // exited on SIGTERM
      }
    }
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await stop();
      return { error: `wrangler dev exited early:\n${output()}`, portTaken: /EADDRINUSE|address already in use/i.test(output()) };
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200 || res.status === 503) return { url, logs: output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  return { error: `wrangler dev not ready within the timeout:\n${output()}`, portTaken: false };
}
