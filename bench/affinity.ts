// Benchmark (issue 13.4): model affinity on the local stack (wrangler dev, two gpu-backends, two
// ComfyUI emulators), without and with it, in one run.
//
// Each emulator has 8 GiB of VRAM (7.5 for models) and two 5 GB checkpoints, so only one fits at a
// time and a switch costs a load (MODEL_LOAD_MS_PER_GB × 5). 200 txt2img jobs alternate between the
// checkpoints, submitted in batches of 20. Phase "off" runs with MODEL_AFFINITY_MAX_PASS_OVERS=0
// (hosts by free slots only), phase "on" with the default (3). Figures per phase: model loads (the
// emulators' own "Requested to load" log lines, as ComfyUI prints them), makespan (first start to
// last end, server timestamps) and the longest a job waited in the queue; then the ratios.
import txt2img from "../examples/txt2img.json" with { type: "json" };
import { startLocalStack } from "../scripts/lib/local-stack.ts";
import { Client } from "../test/e2e/support/client.ts";
import { summarize } from "./lib/stats.ts";

const JOBS = Number(process.env.BENCH_JOBS ?? 200);
const LOAD_MS_PER_GB = Number(process.env.BENCH_LOAD_MS_PER_GB ?? 100);
const CHECKPOINTS = ["bench-a.safetensors", "bench-b.safetensors"];
const CHECKPOINT_BYTES = 5_000_000_000;

interface PhaseResult {
  phase: string;
  jobs: number;
  succeeded: number;
  model_loads: number;
  makespan_s: number;
  queue_wait_p50_s: number;
  queue_wait_max_s: number;
}

async function phase(name: "off" | "on", passOvers: string): Promise<PhaseResult> {
  const stack = await startLocalStack({
    hosts: 2,
    vars: { MODEL_AFFINITY_MAX_PASS_OVERS: passOvers },
    emulatorArgs: ["--vram-mb", "8192", "--model-load-ms-per-gb", String(LOAD_MS_PER_GB), "--step-ms", "5"],
    extraModels: CHECKPOINTS.map((n) => ({ folder: "checkpoints", name: n, architecture: "stable-diffusion-v1", sizeBytes: CHECKPOINT_BYTES })),
  });
  try {
    const api = new Client(stack);
    const t = await api.tenant({ max_active_jobs_per_user: 1000, max_active_jobs_per_tenant: 1000, requests_per_minute: 100_000 });
    let seed = 0;
    // A fresh seed per job: an identical prompt would be served from ComfyUI's cache.
    const workflow = (i: number) => {
      const wf = structuredClone(txt2img.workflow) as Record<string, { inputs: Record<string, unknown> }>;
      wf["4"]!.inputs.ckpt_name = CHECKPOINTS[i % 2];
      wf["3"]!.inputs.seed = ++seed;
      return wf;
    };
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i += 20) {
      const batch = await Promise.all(Array.from({ length: Math.min(20, JOBS - i) }, (_, k) => api.submitOk(t, "batch", workflow(i + k))));
      ids.push(...batch.map((j) => j.id));
    }
    const ended = [...(await api.waitForAllEnded(t, "batch", ids, 900_000)).values()];
    const ok = ended.filter((j) => j.status === "succeeded");
    const firstStart = Math.min(...ended.map((j) => Date.parse(j.started_at)));
    const lastEnd = Math.max(...ended.map((j) => Date.parse(j.finished_at)));
    const waits = summarize(ended.map((j) => Date.parse(j.started_at) - Date.parse(j.created_at)));
    const loads = stack.hosts.reduce((n, h) => n + (h.emulator.output().match(/Requested to load/g)?.length ?? 0), 0);
    return {
      phase: name,
      jobs: JOBS,
      succeeded: ok.length,
      model_loads: loads,
      makespan_s: Number(((lastEnd - firstStart) / 1000).toFixed(2)),
      queue_wait_p50_s: Number((waits.p50_ms / 1000).toFixed(2)),
      queue_wait_max_s: Number((waits.max_ms / 1000).toFixed(2)),
    };
  } finally {
    await stack.stop();
  }
}

const off = await phase("off", "0");
console.log(JSON.stringify({ bench: "affinity", ...off }));
const on = await phase("on", "3");
console.log(JSON.stringify({ bench: "affinity", ...on }));
console.log(
  JSON.stringify({
    bench: "affinity",
    load_ms_per_checkpoint: (LOAD_MS_PER_GB * CHECKPOINT_BYTES) / 1e9,
    loads_ratio_on_vs_off: Number((on.model_loads / Math.max(1, off.model_loads)).toFixed(3)),
    makespan_ratio_on_vs_off: Number((on.makespan_s / off.makespan_s).toFixed(3)),
  }),
);
