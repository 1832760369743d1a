// End to end: the `comfyui-saas` command (packages/client/src/cli, built into dist/) as a child
// process against the real stack (wrangler dev, a gpu-backend, a ComfyUI emulator). `run` writes
// a txt2img PNG that decodes at 512×512, `--json` prints JSON lines, `--input` uploads a file, a
// graph that fails on the GPU host exits 1 with its error on stderr, a workflow refused at submit
// exits 2 with the problem's detail and pointers, SIGINT without a terminal cancels, a bad key
// exits 3, no service exits 5, and `jobs`, `validate`, `usage`, `uploads` do what they say.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { freePort, ROOT } from "../../scripts/lib/wrangler-dev.ts";
import { Client, EMPTY_TO_SAVE, pngSize, SLOW, type Tenant } from "./support/client.ts";
import { solidPng } from "./support/png.ts";

const BIN = join(ROOT, "packages/client/bin/comfyui-saas.js");
const TXT2IMG = join(ROOT, "examples/txt2img.json");
const IMG2IMG = join(ROOT, "examples/img2img.json");

let stack: LocalStack | undefined;
let api: Client;
let t: Tenant;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cli-e2e-"));
  // The build and the stack at once; both are waited for, so afterAll always has the stack to stop.
  const [built, started] = await Promise.allSettled([
    promisify(execFile)("npm", ["run", "build", "-w", "comfyui-saas-client"], { cwd: ROOT, timeout: 100_000 }),
    startLocalStack({ hosts: 1, emulatorArgs: ["--step-ms", "10"] }).then((s) => (stack = s)),
  ]);
  for (const r of [built, started]) if (r.status === "rejected") throw r.reason;
  api = new Client(stack!);
  t = await api.tenant({ max_active_jobs_per_user: 20 });
});
afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Called with stdout so far at each chunk (e.g. to send a signal once a line appeared). */
  onStdout?: (stdout: string, signal: (s: NodeJS.Signals) => void) => void;
}

/** Runs the CLI with the tenant's credentials (user "cli" unless --user says otherwise); never a TTY. */
function cli(args: string[], opts: CliOptions = {}): Promise<Result> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    COMFYUI_SAAS_URL: stack!.edge.url,
    COMFYUI_SAAS_KEY: t.key,
    COMFYUI_SAAS_USER: "cli",
    ...opts.env,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"], timeout: opts.timeoutMs ?? 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      opts.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");
const jsonLines = (text: string) => lines(text).map((l) => JSON.parse(l) as Record<string, any>);

let seq = 0;
/** A fresh out directory per run: outputs are written under their own names. */
const outDir = () => join(dir, `out-${++seq}`);

/** A workflow file in the temp dir. */
function file(name: string, body: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(body));
  return path;
}

const png = (width: number, height: number) => solidPng(width, height, 0x80);

describe("comfyui-saas run", () => {
  it("runs examples/txt2img.json and writes a 512×512 PNG into --out, printing its path", async ({ expect }) => {
    const out = outDir();
    const r = await cli(["run", TXT2IMG, "--out", out, "--set", "6.inputs.text=a red fox", "--set", `3.inputs.seed=${Date.now()}`]);
    expect(r.code, r.stderr).toBe(0);
    const paths = lines(r.stdout);
    expect(paths).toHaveLength(1);
    expect(paths[0]!.startsWith(out)).toBe(true);
    expect(paths[0]).toMatch(/\.png$/);
    expect(pngSize(readFileSync(paths[0]!))).toEqual([512, 512]);
    // Not a terminal: plain lines on stderr, no bar.
    expect(r.stderr).toMatch(/ running\n/);
    expect(r.stderr).toMatch(/ succeeded/);
    expect(r.stderr).not.toContain("\u001b[");
  });

  it("--json prints one JSON object per line: the job's events, then the job and the files", async ({ expect }) => {
    const out = outDir();
    const r = await cli(["run", TXT2IMG, "--json", "--out", out, "--set", `3.inputs.seed=${Date.now()}`]);
    expect(r.code, r.stderr).toBe(0);
    const all = jsonLines(r.stdout);
    const events = all.map((l) => l.event);
    expect(events[0]).toBe("job.queued");
    expect(events).toContain("job.running");
    expect(events).toContain("job.output");
    expect(events.at(-2)).toBe("job.succeeded");
    expect(events.at(-1)).toBe("job");
    const progress = all.filter((l) => l.event === "job.progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ job_id: expect.stringMatching(/^job_/), node_type: "KSampler", percent: expect.any(Number) });
    const last = all.at(-1)!;
    expect(last.job).toMatchObject({ id: all[0]!.job_id, status: "succeeded", outputs: [{ content_type: "image/png" }] });
    expect(last.files).toHaveLength(1);
    expect(pngSize(readFileSync(last.files[0]))).toEqual([512, 512]);
  });

  it("--input uploads a file and puts its upload:<id> into the input", async ({ expect }) => {
    const photo = join(dir, "photo.png");
    writeFileSync(photo, png(40, 30));
    const out = outDir();
    const r = await cli(["run", IMG2IMG, "--input", `1.image=${photo}`, "--out", out, "--set", `3.inputs.seed=${Date.now()}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/uploaded .*photo\.png as upload:upl_/);
    // img2img scales its input to 512×512 before sampling.
    expect(pngSize(readFileSync(lines(r.stdout)[0]!))).toEqual([512, 512]);
  });

  it("exits 1 with the job's error code and message on stderr when the graph fails on the GPU host", async ({ expect }) => {
    const failing = file("failing.json", {
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      "2": { class_type: "RaiseErrorEmu", inputs: { image: ["1", 0], message: "boom", exception_type: "ValueError" } },
      "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "x" } },
    });
    const out = outDir();
    const r = await cli(["run", failing, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: job job_\w+ failed: execution_error: .*ValueError: boom/);
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);

    const json = await cli(["run", failing, "--json", "--out", out]);
    expect(json.code).toBe(1);
    expect(jsonLines(json.stdout).at(-1)).toMatchObject({ event: "job", job: { status: "failed", error: { code: "execution_error" } }, files: [] });
    expect(json.stderr).toMatch(/failed: execution_error: .*boom/);
  });

  it("exits 2 with the problem's detail and its pointers on stderr when the workflow is refused at submit", async ({ expect }) => {
    const bad = file("bad.json", { workflow: EMPTY_TO_SAVE(0, 64) });
    const r = await cli(["run", bad, "--out", outDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*\(422 invalid-workflow\)$/m);
    expect(r.stderr).toMatch(/^ {2}\/workflow\/1\/inputs\/width: .*smaller than the minimum/m);
  });

  it("cancels the job on SIGINT when there is no terminal to ask on, and exits 1", async ({ expect }) => {
    const slow = file("slow.json", SLOW(400, 20));
    let sent = false;
    const r = await cli(["run", slow, "--json", "--out", outDir()], {
      onStdout: (stdout, signal) => {
        if (!sent && stdout.includes('"event":"job.progress"')) {
          sent = true;
          signal("SIGINT");
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cancelling job job_\w+/);
    expect(r.stderr).toMatch(/error: job job_\w+ cancelled/);
    const events = jsonLines(r.stdout);
    expect(events.at(-2)).toMatchObject({ event: "job.cancelled", status: "cancelled" });
    expect(events.at(-1)).toMatchObject({ event: "job", job: { status: "cancelled" } });
  });
});

describe("comfyui-saas jobs", () => {
  it("ls --json prints the user's jobs one JSON object a line; get, watch and cancel", async ({ expect }) => {
    const env = { COMFYUI_SAAS_USER: "lister" };
    const a = await api.submitOk(t, "lister", EMPTY_TO_SAVE(16, 16, 1));
    const b = await api.submitOk(t, "lister", EMPTY_TO_SAVE(16, 16, 2));
    for (const id of [a.id, b.id]) expect(await api.waitForEnd(t, "lister", id)).toMatchObject({ status: "succeeded" });

    const ls = await cli(["jobs", "ls", "--json"], { env });
    expect(ls.code, ls.stderr).toBe(0);
    const listed = jsonLines(ls.stdout);
    expect(listed.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    expect(listed.every((j) => j.status === "succeeded" && j.user_id === "lister")).toBe(true);
    const one = await cli(["jobs", "ls", "--json", "--status", "succeeded", "--limit", "1"], { env });
    expect(jsonLines(one.stdout)).toHaveLength(1);
    const table = await cli(["jobs", "ls"], { env });
    expect(lines(table.stdout)[0]).toMatch(/^ID\s+STATUS\s+POOL\s+CREATED/);
    expect(table.stdout).toContain(a.id);
    expect((await cli(["jobs", "ls", "--status", "done"], { env })).code).toBe(2);

    const get = await cli(["jobs", "get", a.id, "--json"], { env });
    expect(JSON.parse(get.stdout)).toMatchObject({ id: a.id, status: "succeeded" });
    const missing = await cli(["jobs", "get", "job_doesnotexist"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/404 not-found/);

    // Watching an ended job replays its events and ends at once.
    const watched = await cli(["jobs", "watch", b.id, "--json"], { env });
    expect(watched.code).toBe(0);
    expect(jsonLines(watched.stdout).map((l) => l.event)).toEqual(expect.arrayContaining(["job.queued", "job.running", "job.succeeded", "job"]));

    const slow = await api.submitOk(t, "lister", SLOW(400, 20));
    await api.waitFor(t, "lister", slow.id, (j) => j.status === "running");
    const cancel = await cli(["jobs", "cancel", slow.id], { env });
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`^${slow.id} (running \\(cancel requested\\)|cancelled)$`, "m"));
    const end = await cli(["jobs", "watch", slow.id], { env });
    expect(end.code).toBe(1);
    expect(end.stderr).toMatch(/error: job job_\w+ cancelled/);
  });
});

describe("comfyui-saas validate, usage, uploads", () => {
  it("validate exits 0 for a valid workflow and 1 with the pointers for an invalid one", async ({ expect }) => {
    const ok = await cli(["validate", TXT2IMG]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^valid for pool default/);
    const bad = await cli(["validate", file("invalid.json", EMPTY_TO_SAVE(0, 64)), "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false, errors: [{ pointer: "/workflow/1/inputs/width" }] });
  });

  it("usage prints the caller's figures; uploads add prints the upload:<id> ref", async ({ expect }) => {
    const usage = await cli(["usage", "--json"]);
    expect(usage.code, usage.stderr).toBe(0);
    expect(JSON.parse(usage.stdout)).toMatchObject({ user_active_jobs: expect.any(Number), limits: { max_active_jobs_per_user: 20 } });
    const image = join(dir, "upload.png");
    writeFileSync(image, png(24, 12));
    const up = await cli(["uploads", "add", image]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout.trim()).toMatch(/^upload:upl_\w+$/);
    expect(up.stderr).toContain("24×12 image/png");
  });
});

describe("comfyui-saas exit codes", () => {
  it("exits 3 for a key the API refuses", async ({ expect }) => {
    const r = await cli(["jobs", "ls", "--json"], { env: { COMFYUI_SAAS_KEY: "csk_notakey_notakey" } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: .*\(401 /m);
    const flag = await cli(["--key", "csk_notakey_notakey", "run", TXT2IMG, "--out", outDir()]);
    expect(flag.code).toBe(3);
  });

  it("exits 2 for usage errors: no key, no URL, an unknown option, a missing file, a --set into no node", async ({ expect }) => {
    const noKey = await cli(["usage"], { env: { COMFYUI_SAAS_KEY: undefined } });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("COMFYUI_SAAS_KEY");
    const noUrl = await cli(["usage"], { env: { COMFYUI_SAAS_URL: undefined } });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain("COMFYUI_SAAS_URL");
    expect((await cli(["run", TXT2IMG, "--frobnicate"])).code).toBe(2);
    expect((await cli(["run", join(dir, "nope.json")])).code).toBe(2);
    const typo = await cli(["run", TXT2IMG, "--set", "66.inputs.text=x"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("no node 66");
    expect((await cli(["--help"])).code).toBe(0);
  });

  it("exits 5 when nothing answers at the URL", async ({ expect }) => {
    const port = await freePort();
    const r = await cli(["usage"], { env: { COMFYUI_SAAS_URL: `http://127.0.0.1:${port}` }, timeoutMs: 30_000 });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/fetch failed/);
  });
});

function readmeShell(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const m = /<!-- shell:start[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- shell:end -->/.exec(readme);
  if (!m) throw new Error("README has no shell block");
  return m[1]!;
}

describe("README: From the shell", () => {
  it("runs as written: npx comfyui-saas run writes the PNG, jobs ls lists the job", async ({ expect }) => {
    // Inside the checkout (npx finds the workspace's command there), in a folder of its own.
    const cwd = mkdtempSync(join(ROOT, ".readme-shell-"));
    try {
      symlinkSync(join(ROOT, "examples"), join(cwd, "examples"));
      const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", readmeShell()], {
        cwd,
        env: { ...process.env, COMFYUI_SAAS_URL: stack!.edge.url, COMFYUI_SAAS_KEY: t.key },
        timeout: 120_000,
      });
      const written = readdirSync(join(cwd, "out")).filter((f) => f.endsWith(".png"));
      expect(written).toHaveLength(1);
      expect(pngSize(readFileSync(join(cwd, "out", written[0]!)))).toEqual([512, 512]);
      expect(stdout).toContain(written[0]!);
      expect(stdout).toMatch(/job_[a-z0-9]+/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
