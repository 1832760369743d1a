// `npm run chaos`: the chaos soak. The local stack with three GPU hosts runs --jobs jobs of mixed
// graphs (txt2img, fast, slow, failing; about 10 % cancelled) submitted over --minutes, while
// gpu-backends are SIGKILLed and restarted, SIGSTOPped past their lease and resumed, emulators
// crash mid-node, WebSockets to ComfyUI are cut, hosts are drained and removed, and the webhook
// receivers go down for a while. Then the invariant checker runs (bench/chaos/invariants.ts).
// Prints JSON lines and a summary; exits 1 on any violation, printing each with the job's history.
//
//   npm run chaos -- [--jobs 1000] [--seed 1] [--minutes 10] [--keep] [--hold]
//     --keep: keep the run folder (kept anyway when there are violations); --hold: after the check,
//     keep the stack running until Ctrl-C, printing its URL, so the checker can be run again alone
//   npm run chaos -- --plan [--seed 1 ...]          the fault schedule only (same seed, same plan)
//   ADMIN_TOKEN=… npm run chaos -- --check <folder>  the checker alone, on a kept run folder whose stack still runs

import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { type CheckResult, checkStack } from "./chaos/check.ts";
import { planFor, runChaos } from "./chaos/run.ts";
import { stopStacks } from "./lib/stacks.ts";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    minutes: { type: "string", default: "10" },
    keep: { type: "boolean", default: false },
    hold: { type: "boolean", default: false },
    plan: { type: "boolean", default: false },
    check: { type: "string" },
  },
});
const jobs = Number(values.jobs);
const seed = Number(values.seed);
const minutes = Number(values.minutes);
if (!Number.isInteger(jobs) || jobs < 1 || !Number.isInteger(seed) || !(minutes > 0 && minutes <= 24 * 60)) {
  console.error("usage: npm run chaos -- [--jobs N≥1] [--seed integer] [--minutes 0<m≤1440] [--keep] [--plan] [--check <folder>]");
  process.exit(2);
}
const print = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

function report(result: CheckResult, extra: Record<string, unknown>): number {
  for (const v of result.violations) {
    print({ chaos: "violation", ...v });
    if (v.job) print({ chaos: "history", job: v.job, ...result.histories.get(v.job) });
  }
  print({ bench: "chaos", ...extra, ...result.figures, api_check: result.apiCounts, violations: result.violations.length });
  return result.violations.length === 0 ? 0 : 1;
}

if (values.plan) {
  const plan = planFor({ seed, jobs, minutes });
  for (const f of plan.faults) print({ chaos: "planned-fault", ...f });
  for (const o of plan.outages) print({ chaos: "planned-outage", ...o });
  process.exit(0);
}

if (values.check) {
  const token = process.env.ADMIN_TOKEN;
  if (!token) {
    console.error("--check needs the stack's ADMIN_TOKEN in the environment");
    process.exit(2);
  }
  process.exit(report(await checkStack(values.check, token, { log: print }), { check: values.check }));
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void stopStacks().finally(() => process.exit(130)));
}
const hold = async (_: unknown, stack: { edge: { url: string }; adminToken: string }) => {
  if (!values.hold) return;
  print({
    chaos: "holding",
    edge: stack.edge.url,
    hint: "ADMIN_TOKEN=<admin_token> npm run chaos -- --check <dir>; Ctrl-C ends",
    admin_token: stack.adminToken,
  });
  await new Promise(() => {});
};
const result = await runChaos({ seed, jobs, minutes, log: print, hold });
const code = report(result, {
  seed,
  jobs,
  minutes,
  seconds: result.seconds,
  faults: result.faults,
  faults_mid_job: result.faultsMidJob,
  api_run: result.runApiCounts,
  "5xx": result.violations.filter((v) => v.invariant === "no-5xx").length,
  dir: values.keep || result.violations.length > 0 ? result.dir : null,
});
if (!values.keep && code === 0) rmSync(result.dir, { recursive: true, force: true });
process.exit(code);
