// Benchmark (issue 14): model files fetched on demand, on the local stack (wrangler dev, gpu-backends,
// ComfyUI emulators). One JSON line per figure, `{"bench":"models",...}`; MB are 10⁶ bytes.
//
// 1. "fetch": one host. A LoRA-shaped fake of BENCH_MODEL_MB MiB (default 1024: a valid safetensors
//    header, fakeModelBytes, padded with zeros to the size it declares) is registered with the
//    edge's model registry, uploaded in `part_size` parts streamed from a temp file, and verified.
//    A warm-up job (the dev LoRA) loads the checkpoint; then a job naming the big LoRA runs twice,
//    with two seeds: uncached (the host downloads it from the edge), then cached. Figures: download
//    MB/s on loopback (bytes / the host's `model_fetch_ms` of its `job_models_fetched` log line),
//    and submit → succeeded (server timestamps) uncached vs cached, and their difference. The
//    emulator charges no model load time here (--model-load-ms-per-gb 0), so the difference is the
//    download.
// 2. "placement": two hosts per phase, each phase its own stack (fresh caches). BENCH_LORAS (4)
//    LoRAs of BENCH_LORA_MB MiB (64) are registered, the pool is `model_files: on_demand`, and
//    BENCH_JOBS (100) jobs, each naming one LoRA (a fixed shuffled order, each LoRA equally often;
//    BENCH_ORDER=round-robin for A, B, C, D, A…), are submitted in batches of 20. Phase "off" runs
//    with MODEL_AFFINITY_MAX_PASS_OVERS=0 (hosts by free slots only), phase "on" with the default
//    (3). Figures per phase: downloads (the hosts' fetched bytes / LoRA size, from /metrics, and the
//    `job_models_fetched` lines), makespan (first start to last end), queue waits; then the ratios.
//    BENCH_CACHE_LORAS=n gives each host's model cache room for n LoRAs (MODEL_CACHE_BUDGET_GB), so
//    LoRAs are evicted and fetched again; default 0: gpu-backend's default budget (all fit).
//
// BENCH_PHASES=fetch,placement (default both) picks the parts. Every stack started is stopped, and
// the temp files removed, on success, on error and on SIGINT/SIGTERM.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import lora from "../examples/lora.json" with { type: "json" };
import { fakeModelBytes } from "../gpu-backend/emulator/models/safetensors.ts";
import type { LocalStack } from "../scripts/lib/local-stack.ts";
import { Client, type Job } from "../test/e2e/support/client.ts";
import { stopStacks, withStack } from "./lib/stacks.ts";
import { summarize } from "./lib/stats.ts";

const MIB = 1024 * 1024;
const MODEL_MB = Number(process.env.BENCH_MODEL_MB ?? 1024);
const LORA_MB = Number(process.env.BENCH_LORA_MB ?? 64);
const LORAS = Number(process.env.BENCH_LORAS ?? 4);
const JOBS = Number(process.env.BENCH_JOBS ?? 100);
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 5);
const CACHE_LORAS = Number(process.env.BENCH_CACHE_LORAS ?? 0);
const ORDER = process.env.BENCH_ORDER ?? "shuffle";
const PHASES = new Set((process.env.BENCH_PHASES ?? "fetch,placement").split(","));
const BATCH = 20;

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const mbPerS = (bytes: number, ms: number) => (ms > 0 ? round(bytes / 1e6 / (ms / 1000), 1) : null);

// --- Stopping what was started, whatever happens ---------------------------------------------------

let tempDir: string | undefined;

async function cleanup(): Promise<void> {
  await stopStacks();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`bench/models: ${signal}, stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

// --- Fake model files and the registry -----------------------------------------------------------

interface FakeFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/**
 * Writes a LoRA-shaped file of `size` bytes: the safetensors header (declaring that size), then
 * zeros. The emulator reads only the header, and accepts a file longer than it. Hashed as it is
 * written, in 8 MiB chunks, so the file is never in memory.
 */
async function writeFakeLora(dir: string, name: string, size: number): Promise<FakeFile> {
  const head = fakeModelBytes({ architecture: "stable-diffusion-v1/lora", sizeBytes: size, metadata: { tag: name } });
  const path = join(dir, name);
  const hash = createHash("sha256").update(head);
  const zeros = Buffer.alloc(8 * MIB);
  const fh = await open(path, "w");
  try {
    await fh.write(head);
    for (let left = size - head.length; left > 0; ) {
      const chunk = left >= zeros.length ? zeros : zeros.subarray(0, left);
      await fh.write(chunk);
      hash.update(chunk);
      left -= chunk.length;
    }
  } finally {
    await fh.close();
  }
  return { path, name, size, sha256: hash.digest("hex") };
}

/** PUTs bytes [start, start + length) of `path`, streamed from the file, with that Content-Length. */
function putPart(url: string, token: string, path: string, start: number, length: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "PUT",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream", "Content-Length": String(length) },
        timeout: 120_000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`part upload to ${url} timed out`)));
    const src = createReadStream(path, { start, end: start + length - 1, highWaterMark: MIB });
    src.on("error", (err) => req.destroy(err));
    src.pipe(req);
  });
}

interface Registered {
  id: string;
  parts: number;
  upload_ms: number;
  verify_ms: number;
}

/** Registers the file in `loras`, uploads it part by part and waits until the registry verified it. */
async function register(stack: LocalStack, file: FakeFile): Promise<Registered> {
  const reg = await stack.admin("/v1/admin/models", {
    method: "POST",
    body: JSON.stringify({ folder: "loras", name: file.name, sha256: file.sha256, size: file.size }),
  });
  if (reg.status !== 201) throw new Error(`register ${file.name}: ${reg.status} ${await reg.text()}`);
  const model = (await reg.json()) as { id: string; upload: { part_size: number; parts_total: number } };
  const { part_size: partSize, parts_total: parts } = model.upload;
  const t0 = performance.now();
  for (let n = 1; n <= parts; n++) {
    const start = (n - 1) * partSize;
    const res = await putPart(
      `${stack.edge.url}/v1/admin/models/${model.id}/parts/${n}`,
      stack.adminToken,
      file.path,
      start,
      Math.min(partSize, file.size - start),
    );
    if (res.status !== 200) throw new Error(`part ${n} of ${file.name}: ${res.status} ${res.body}`);
  }
  const t1 = performance.now();
  const done = await stack.admin(`/v1/admin/models/${model.id}/complete`, { method: "POST" });
  if (done.status !== 202) throw new Error(`complete ${file.name}: ${done.status} ${await done.text()}`);
  const deadline = Date.now() + 300_000;
  for (;;) {
    const m = (await (await stack.admin(`/v1/admin/models/${model.id}`)).json()) as { state: string; error?: unknown };
    if (m.state === "ready") break;
    if (m.state === "failed") throw new Error(`model ${file.name} failed verification: ${JSON.stringify(m.error)}`);
    if (Date.now() > deadline) throw new Error(`model ${file.name} still ${m.state} after 300 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { id: model.id, parts, upload_ms: t1 - t0, verify_ms: performance.now() - t1 };
}

// --- Jobs and hosts --------------------------------------------------------------------------------

let seed = 0;
/** examples/lora.json with this LoRA and a fresh seed (an identical prompt would be served from ComfyUI's cache). */
function workflowWith(loraName: string): Record<string, unknown> {
  const wf = structuredClone(lora.workflow) as Record<string, { inputs: Record<string, unknown> }>;
  wf["10"]!.inputs.lora_name = loraName;
  wf["3"]!.inputs.seed = ++seed;
  return wf;
}

async function onDemandPool(stack: LocalStack): Promise<void> {
  const res = await stack.admin("/v1/admin/pools/default", { method: "PATCH", body: JSON.stringify({ model_files: "on_demand" }) });
  if (res.status !== 200) throw new Error(`pool: ${res.status} ${await res.text()}`);
}

/** Sum of a /metrics counter (all its label sets) on each host. */
async function metric(stack: LocalStack, name: string): Promise<number[]> {
  return Promise.all(
    stack.hosts.map(async (h) => {
      const text = await (await fetch(`http://127.0.0.1:${h.port}/metrics`)).text();
      let sum = 0;
      for (const line of text.split("\n")) if (line.startsWith(name)) sum += Number(line.split(" ").at(-1));
      return sum;
    }),
  );
}

/** A /metrics counter summed over hosts, by its `kind` label (failed fetches: disk_budget, network…). */
async function metricByKind(stack: LocalStack, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const h of stack.hosts) {
    const text = await (await fetch(`http://127.0.0.1:${h.port}/metrics`)).text();
    for (const line of text.split("\n")) {
      if (!line.startsWith(name)) continue;
      const kind = /kind="([^"]*)"/.exec(line)?.[1] ?? "";
      out[kind] = (out[kind] ?? 0) + Number(line.split(" ").at(-1));
    }
  }
  return out;
}

/** The `job_models_fetched` log lines of a host. */
function fetchedLines(stack: LocalStack, host: number): { job_id?: string; fetched: number; model_fetch_ms: number }[] {
  return stack.hosts[host]!.backendLogs()
    .split("\n")
    .filter((l) => l.includes('"event":"job_models_fetched"'))
    .map((l) => JSON.parse(l) as { job_id?: string; fetched: number; model_fetch_ms: number });
}

function timings(j: Job) {
  const created = Date.parse(j.created_at);
  const started = Date.parse(j.started_at);
  const finished = Date.parse(j.finished_at);
  return { queued_ms: started - created, running_ms: finished - started, total_ms: finished - created };
}

async function runOne(api: Client, t: Awaited<ReturnType<Client["tenant"]>>, loraName: string, timeoutMs: number): Promise<Job> {
  const job = await api.submitOk(t, "bench", workflowWith(loraName));
  const done = await api.waitForEnd(t, "bench", job.id, timeoutMs);
  if (done.status !== "succeeded") throw new Error(`job ${job.id} (${loraName}) ended ${done.status}: ${JSON.stringify(done.error)}`);
  return done;
}

// --- 1. Fetch throughput ---------------------------------------------------------------------------

async function fetchThroughput(dir: string): Promise<void> {
  const file = await writeFakeLora(dir, `bench-big-${MODEL_MB}.safetensors`, Math.round(MODEL_MB * MIB));
  await withStack({ hosts: 1, emulatorArgs: ["--step-ms", String(STEP_MS), "--model-load-ms-per-gb", "0"] }, async (stack) => {
    await onDemandPool(stack);
    const api = new Client(stack);
    const t = await api.tenant();
    await runOne(api, t, "add_detail.safetensors", 60_000); // loads the checkpoint
    const reg = await register(stack, file);
    const uncached = await runOne(api, t, file.name, 600_000);
    const cached = await runOne(api, t, file.name, 120_000);
    const lines = fetchedLines(stack, 0);
    const line = lines.find((l) => l.job_id === uncached.id) ?? lines.at(-1);
    if (!line || lines.length !== 1) throw new Error(`expected one job_models_fetched line, got ${lines.length}`);
    const [fetchedBytes] = await metric(stack, "gpu_backend_model_cache_fetched_bytes_total");
    const u = timings(uncached);
    const c = timings(cached);
    console.log(
      JSON.stringify({
        bench: "models",
        figure: "fetch",
        model_bytes: file.size,
        upload_parts: reg.parts,
        upload_mb_s: mbPerS(file.size, reg.upload_ms),
        verify_s: round(reg.verify_ms / 1000),
        fetched_bytes: fetchedBytes,
        model_fetch_ms: line.model_fetch_ms,
        download_mb_s: mbPerS(file.size, line.model_fetch_ms),
        uncached_submit_to_succeeded_ms: u.total_ms,
        uncached_running_ms: u.running_ms,
        cached_submit_to_succeeded_ms: c.total_ms,
        cached_running_ms: c.running_ms,
        uncached_minus_cached_ms: u.total_ms - c.total_ms,
      }),
    );
  });
}

// --- 2. Cache-aware placement vs without -----------------------------------------------------------

/** The LoRA index of each job: each equally often, round robin or in a fixed shuffled order. */
function jobOrder(): number[] {
  const order = Array.from({ length: JOBS }, (_, i) => i % LORAS);
  if (ORDER === "round-robin") return order;
  let s = 0x9e3779b9;
  const rand = () => {
    // mulberry32: the same order on every run
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

interface PlacementResult {
  phase: "off" | "on";
  jobs: number;
  succeeded: number;
  downloads: number;
  downloads_per_host: number[];
  download_lines: number;
  evictions: number;
  failed_fetches: number;
  failed_fetch_kinds: Record<string, number>;
  attempts_over_1: number;
  fetch_s_total: number;
  makespan_s: number;
  queue_wait_p50_s: number;
  queue_wait_max_s: number;
}

async function placementPhase(name: "off" | "on", passOvers: string, files: FakeFile[]): Promise<PlacementResult> {
  const loraBytes = files[0]!.size;
  const backendEnv: Record<string, string> = CACHE_LORAS > 0 ? { MODEL_CACHE_BUDGET_GB: String((CACHE_LORAS * loraBytes + MIB) / 1024 ** 3) } : {};
  return withStack(
    { hosts: 2, vars: { MODEL_AFFINITY_MAX_PASS_OVERS: passOvers }, emulatorArgs: ["--step-ms", String(STEP_MS)], backendEnv },
    async (stack) => {
      await onDemandPool(stack);
      for (const f of files) await register(stack, f);
      const api = new Client(stack);
      const t = await api.tenant({ max_active_jobs_per_user: 1000, max_active_jobs_per_tenant: 1000, requests_per_minute: 100_000 });
      const order = jobOrder();
      const ids: string[] = [];
      for (let i = 0; i < order.length; i += BATCH) {
        const batch = await Promise.all(order.slice(i, i + BATCH).map((k) => api.submitOk(t, "batch", workflowWith(files[k]!.name))));
        ids.push(...batch.map((j) => j.id));
      }
      const ended = [...(await api.waitForAllEnded(t, "batch", ids, 300_000)).values()];
      if (ended.length !== ids.length || ended.some((j) => j.status === "queued" || j.status === "running"))
        throw new Error(`phase ${name}: not every job ended within 300 s`);
      const ok = ended.filter((j) => j.status === "succeeded");
      const firstStart = Math.min(...ended.map((j) => Date.parse(j.started_at)));
      const lastEnd = Math.max(...ended.map((j) => Date.parse(j.finished_at)));
      const waits = summarize(ended.map((j) => Date.parse(j.started_at) - Date.parse(j.created_at)));
      const bytes = await metric(stack, "gpu_backend_model_cache_fetched_bytes_total");
      const lines = stack.hosts.flatMap((_, i) => fetchedLines(stack, i));
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      return {
        phase: name,
        jobs: ids.length,
        succeeded: ok.length,
        downloads: round(sum(bytes) / loraBytes, 2),
        downloads_per_host: bytes.map((b) => round(b / loraBytes, 2)),
        download_lines: sum(lines.map((l) => l.fetched)),
        evictions: sum(await metric(stack, "gpu_backend_model_cache_evictions_total")),
        failed_fetches: sum(await metric(stack, "gpu_backend_model_cache_failed_fetches_total")),
        failed_fetch_kinds: await metricByKind(stack, "gpu_backend_model_cache_failed_fetches_total"),
        attempts_over_1: ended.filter((j) => Number(j.attempt ?? 1) > 1).length,
        fetch_s_total: round(sum(lines.map((l) => l.model_fetch_ms)) / 1000),
        makespan_s: round((lastEnd - firstStart) / 1000),
        queue_wait_p50_s: round(waits.p50_ms / 1000),
        queue_wait_max_s: round(waits.max_ms / 1000),
      };
    },
  );
}

async function placement(dir: string): Promise<void> {
  const files: FakeFile[] = [];
  for (let i = 0; i < LORAS; i++) files.push(await writeFakeLora(dir, `bench-lora-${String.fromCharCode(97 + i)}.safetensors`, Math.round(LORA_MB * MIB)));
  const config = { loras: LORAS, lora_bytes: files[0]!.size, jobs: JOBS, order: ORDER, step_ms: STEP_MS, cache_loras: CACHE_LORAS || "default" };
  const off = await placementPhase("off", "0", files);
  console.log(JSON.stringify({ bench: "models", figure: "placement", ...config, ...off }));
  const on = await placementPhase("on", "3", files);
  console.log(JSON.stringify({ bench: "models", figure: "placement", ...config, ...on }));
  console.log(
    JSON.stringify({
      bench: "models",
      figure: "placement_ratio",
      downloads_ratio_on_vs_off: round(on.downloads / Math.max(1e-9, off.downloads), 3),
      makespan_ratio_on_vs_off: round(on.makespan_s / off.makespan_s, 3),
    }),
  );
}

try {
  tempDir = await mkdtemp(join(tmpdir(), "bench-models-"));
  if (PHASES.has("fetch")) await fetchThroughput(tempDir);
  if (PHASES.has("placement")) await placement(tempDir);
} finally {
  await cleanup();
}
