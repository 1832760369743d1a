// Benchmark (issue 5): how busy the GPUs are kept, and the system's own overhead per job, on the
// local stack (wrangler dev, two gpu-backends, two ComfyUI emulators) in one run.
//
// 1. 200 jobs whose emulated work is 250 ms (a 5-step sampler at 50 ms a step), submitted at once:
//    makespan vs the ideal (200 × 0.25 s / 2 hosts) → GPU busy fraction (target ≥ 0.97).
// 2. One job at a time: submit-to-succeeded minus the emulated work, p50/p99 (server timestamps),
//    and where that time went (`system_overhead_timings`, p50 of each span in ms): the submit's
//    Server-Timing steps, then from the edge's log lines `job_dispatched` (the Dispatcher's reads
//    and host call) and `job_reported` (the host's spans, src/protocol HostSpans).
import { startLocalStack } from "../scripts/lib/local-stack.ts";
import { Client, SLOW } from "../test/e2e/support/client.ts";
import { summarize } from "./lib/stats.ts";
import { breakdown, type JobTrace, serverTiming } from "./lib/timings.ts";

const JOBS = Number(process.env.BENCH_JOBS ?? 200);
const WORK_MS = 250;
const STEPS = 5;
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 30);

const stack = await startLocalStack({ hosts: 2, ...(process.env.BENCH_PREFETCH ? { backendEnv: { PREFETCH: process.env.BENCH_PREFETCH } } : {}) });
try {
  const api = new Client(stack);
  const t = await api.tenant({ max_active_jobs_per_user: 1000, max_active_jobs_per_tenant: 1000, requests_per_minute: 100_000 });
  // A fresh seed per job: identical inputs would be served from ComfyUI's cache with no work.
  const workflow = () => SLOW(STEPS, WORK_MS / STEPS);

  // Warm-up: one job through each host.
  const warm = await Promise.all([api.submitOk(t, "warm", workflow()), api.submitOk(t, "warm", workflow())]);
  await api.waitForAllEnded(
    t,
    "warm",
    warm.map((j) => j.id),
  );

  const ids: string[] = [];
  for (let i = 0; i < JOBS; i += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, JOBS - i) }, () => api.submitOk(t, "batch", workflow())));
    ids.push(...batch.map((j) => j.id));
  }
  const ended = [...(await api.waitForAllEnded(t, "batch", ids, 600_000)).values()];
  const ok = ended.filter((j) => j.status === "succeeded");
  const firstStart = Math.min(...ended.map((j) => Date.parse(j.started_at)));
  const lastEnd = Math.max(...ended.map((j) => Date.parse(j.finished_at)));
  const makespan = (lastEnd - firstStart) / 1000;
  const ideal = (JOBS * WORK_MS) / 1000 / stack.hosts.length;
  // The GPU's own view: from each emulator's history, the time ComfyUI spent executing prompts
  // (execution_start → execution_success) over the span from its first start to its last end.
  const utilisation = await Promise.all(
    stack.hosts.map(async (h) => {
      const history = (await (await fetch(`http://127.0.0.1:${h.emulatorPort}/history`)).json()) as Record<
        string,
        { status: { messages: [string, { timestamp: number }][] } }
      >;
      const spans = Object.values(history)
        .map((e) => {
          const at = (kind: string) => e.status.messages.find(([k]) => k === kind)?.[1].timestamp;
          return [at("execution_start"), at("execution_success")] as const;
        })
        .filter((s): s is readonly [number, number] => s[0] !== undefined && s[1] !== undefined);
      const busy = spans.reduce((n, [a, b]) => n + (b - a), 0);
      const span = Math.max(...spans.map((s) => s[1])) - Math.min(...spans.map((s) => s[0]));
      return { busy, span, prompts: spans.length };
    }),
  );
  console.log(
    JSON.stringify({
      bench: "gpu_busy_fraction_emulator_timeline",
      prompts: utilisation.reduce((n, u) => n + u.prompts, 0),
      busy_fraction: Math.round((utilisation.reduce((n, u) => n + u.busy, 0) / utilisation.reduce((n, u) => n + u.span, 0)) * 1000) / 1000,
      mean_prompt_ms: Math.round(utilisation.reduce((n, u) => n + u.busy, 0) / utilisation.reduce((n, u) => n + u.prompts, 0)),
      target: 0.97,
    }),
  );
  console.log(
    JSON.stringify({
      bench: "gpu_busy_fraction",
      jobs: JOBS,
      hosts: stack.hosts.length,
      work_ms: WORK_MS,
      succeeded: ok.length,
      makespan_s: Math.round(makespan * 100) / 100,
      ideal_s: ideal,
      busy_fraction: Math.round((ideal / makespan) * 1000) / 1000,
      target: 0.97,
    }),
  );

  const overhead: number[] = [];
  const traces = new Map<string, JobTrace>();
  for (let i = 0; i < SEQUENTIAL; i++) {
    const res = await api.submit(t, "one", workflow());
    if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
    const j = (await res.json()) as { id: string };
    const done = await api.waitFor(t, "one", j.id, (x) => !["queued", "running"].includes(x.status), 30_000);
    if (done.status !== "succeeded") continue;
    const total = Date.parse(done.finished_at) - Date.parse(done.created_at);
    overhead.push(total - WORK_MS);
    traces.set(j.id, { total, queued: Date.parse(done.started_at) - Date.parse(done.created_at), submit: serverTiming(res.headers.get("Server-Timing")) });
  }
  console.log(JSON.stringify({ bench: "system_overhead_per_job", measure: "succeeded_at - created_at - work", ...summarize(overhead) }));
  console.log(JSON.stringify({ bench: "system_overhead_timings", jobs: traces.size, work_ms: WORK_MS, ...breakdown(traces, stack.edge.logs()) }));
} finally {
  await stack.stop();
}
