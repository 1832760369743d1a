// Runs test projects again and again, each run a fresh `vitest run` process, and reports which
// tests failed in how many runs. For the projects that start real processes, where timing and
// concurrency could make a test flaky:
//
//   npm run test:flaky                       # gpu-backend and e2e, 20 runs
//   npm run test:flaky -- 5 --project e2e    # one project, 5 runs
//   npm run test:flaky -- 3 --project e2e test/e2e/dispatch.test.ts
//
// Prints one JSON line per run and a summary line; exits 1 when any run failed. Each run is
// bounded (RUN_TIMEOUT_MS, default 20 min), and so is the whole loop (its run count).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VITEST = join(ROOT, "node_modules/.bin/vitest");
const RUN_TIMEOUT_MS = Number(process.env.RUN_TIMEOUT_MS ?? 20 * 60_000);
const MAX_RUNS = 500;

interface Args {
  runs: number;
  projects: string[];
  files: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 20, projects: [], files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--project") {
      const p = argv[++i];
      if (!p) usage("--project needs a name (workers, node, gpu-backend, e2e)");
      args.projects.push(p);
    } else if (/^\d+$/.test(a)) {
      args.runs = Number(a);
    } else if (a.startsWith("-")) {
      usage(`unknown option ${a}`);
    } else {
      args.files.push(a);
    }
  }
  if (args.runs < 1 || args.runs > MAX_RUNS) usage(`runs must be between 1 and ${MAX_RUNS}`);
  if (args.projects.length === 0) args.projects = ["gpu-backend", "e2e"];
  return args;
}

function usage(problem: string): never {
  console.error(`test:flaky: ${problem}\nusage: npm run test:flaky -- [runs] [--project name]... [test files]...`);
  process.exit(2);
}

interface VitestJson {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ name: string; message?: string; assertionResults: Array<{ fullName: string; status: string; failureMessages?: string[] }> }>;
}

interface RunResult {
  code: number | null;
  timedOut: boolean;
  report: VitestJson | undefined;
  output: string;
}

function runOnce(args: Args, outFile: string): Promise<RunResult> {
  const argv = ["run", ...args.projects.flatMap((p) => ["--project", p]), "--reporter=json", `--outputFile=${outFile}`, ...args.files];
  return new Promise((resolve) => {
    const child = spawn(VITEST, argv, {
      cwd: ROOT,
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, RUN_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      let report: VitestJson | undefined;
      try {
        report = JSON.parse(readFileSync(outFile, "utf8")) as VitestJson;
      } catch {
        report = undefined;
      }
      resolve({ code, timedOut, report, output });
    });
  });
}

function relative(file: string): string {
  return file.startsWith(ROOT) ? file.slice(ROOT.length) : file;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "comfyui-saas-flaky-"));
  const failures = new Map<string, number>();
  let passedRuns = 0;
  const started = Date.now();
  try {
    for (let run = 1; run <= args.runs; run++) {
      const t0 = Date.now();
      const result = await runOnce(args, join(dir, `run-${run}.json`));
      const failed: string[] = [];
      const why: Record<string, string> = {};
      for (const file of result.report?.testResults ?? []) {
        for (const t of file.assertionResults) {
          if (t.status !== "failed") continue;
          const name = `${relative(file.name)} > ${t.fullName}`;
          failed.push(name);
          // The first lines of the failure, so a rare one can be understood from this log alone.
          why[name] = (t.failureMessages ?? []).join("\n").split("\n").slice(0, 12).join("\n").slice(0, 2_000);
        }
        // A file that failed to load or whose hooks failed has no failed assertion of its own.
        if (file.assertionResults.every((t) => t.status !== "failed") && file.message)
          failed.push(`${relative(file.name)} (file: ${file.message.split("\n")[0]})`);
      }
      if (!result.report) failed.push(result.timedOut ? `(run timed out after ${RUN_TIMEOUT_MS} ms)` : `(no report; vitest exited ${result.code})`);
      const ok = result.code === 0 && failed.length === 0;
      if (ok) passedRuns++;
      for (const f of failed) failures.set(f, (failures.get(f) ?? 0) + 1);
      console.log(
        JSON.stringify({
          run,
          ok,
          tests: result.report?.numTotalTests ?? 0,
          passed: result.report?.numPassedTests ?? 0,
          failed,
          seconds: Math.round((Date.now() - t0) / 1000),
          ...(failed.length > 0 ? { why } : {}),
        }),
      );
      if (!ok && !result.report) console.error(result.output.slice(-4_000));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    JSON.stringify({
      summary: "test_flaky",
      projects: args.projects,
      files: args.files,
      runs: args.runs,
      passed_runs: passedRuns,
      failures: Object.fromEntries(failures),
      minutes: Math.round((Date.now() - started) / 6_000) / 10,
    }),
  );
  process.exit(passedRuns === args.runs ? 0 : 1);
}

await main();
