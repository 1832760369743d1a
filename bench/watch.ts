// Benchmark (issue 15): watching a job, on the local stack (wrangler dev, gpu-backends, ComfyUI
// emulators). One JSON line per figure, `{"bench":"watch",...}`.
//
// 1. "progress_latency": how long a host's `job.progress` takes to reach the job's SSE streams
//    (`GET /v1/jobs/{id}/events`). A recording HTTP proxy sits between the gpu-backends and the
//    edge (StackOptions.hostEdgeUrl), in a worker thread of its own so the 200 streams this process
//    reads cannot delay its clock readings. For every `POST /v1/hosts/{host}/events` whose body is
//    a `job.progress` it notes the moment the request arrived, keyed by (job, attempt, node,
//    value); every stream notes the moment it parsed each job.progress event. Both read the
//    machine's monotonic clock (process.hrtime; SseReader's performance.now() is converted to it).
//    Latency = stream receive − proxy arrival, one sample per (stream, event). Jobs are KSamplerEmu
//    prompts with many steps; the gpu-backends send at most one progress per
//    BENCH_PROGRESS_INTERVAL_MS (default 50, set through backendEnv; the gpu-backend's own default
//    is 500). Three setups, on one stack of BENCH_HOSTS (2) hosts: (a) 1 stream on 1 job, (b) 200
//    streams on 1 job, (c) 200 streams over 50 jobs (4 each); every host runs one prompt at a time,
//    so in (c) the jobs run BENCH_HOSTS at a time, in sequence, with all 200 streams open
//    throughout. In each setup the hosts are drained while the jobs are submitted and their streams
//    opened, and resumed once every stream is open, so each stream sees every progress event live.
//    Besides: `host_post_*`, the edge's answer time to a progress POST (measured at the proxy), and
//    `host_queue_*`, how long an event waited in its gpu-backend (its `at` to the proxy's Date.now()),
//    which the latency does not include.
// 2. "eta_error": a second stack of 2 hosts. After BENCH_ETA_WARMUP (4) jobs (the pool's history:
//    the mean execution time), BENCH_ETA_JOBS (100) equal jobs (BENCH_ETA_STEPS × BENCH_ETA_STEP_MS,
//    10 × 60 ms) are submitted at once (batches of 25 in parallel). Each job's
//    `estimated_start_seconds` is taken from its submit answer and, separately, from one GET of
//    every job right after all were submitted; the moment of an estimate is when its answer
//    arrived (Date.now(), the edge's clock too: same machine). Error = |estimate − (started_at −
//    that moment)|. Jobs already started at the GET have no estimate there by design (counted as
//    `not_queued`, not as `null`); `null` counts answers with status "queued" and no estimate (a
//    job a free slot takes at once answers 0). `bias_s` is the mean signed error (estimates are
//    whole seconds, rounded up). Makespan: first submit to the last finished_at.
//
// Every stack is stopped, and the proxy thread ended, on success, on error and on SIGINT/SIGTERM.
import { Worker } from "node:worker_threads";
import type { LocalStack } from "../scripts/lib/local-stack.ts";
import { Client, type Job, SLOW, type Tenant } from "../test/e2e/support/client.ts";
import { SseReader } from "../test/support/sse-reader.ts";
import { stopStacks, withStack } from "./lib/stacks.ts";
import { summarize } from "./lib/stats.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 2);
const PROGRESS_INTERVAL_MS = Number(process.env.BENCH_PROGRESS_INTERVAL_MS ?? 50);
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 30);
/** Steps of the job in setups (a) and (b), and of each job in (c). */
const ONE_JOB_STEPS = Number(process.env.BENCH_ONE_JOB_STEPS ?? 200);
const MANY_JOB_STEPS = Number(process.env.BENCH_MANY_JOB_STEPS ?? 50);
const ETA_JOBS = Number(process.env.BENCH_ETA_JOBS ?? 100);
const ETA_WARMUP = Number(process.env.BENCH_ETA_WARMUP ?? 4);
const ETA_STEPS = Number(process.env.BENCH_ETA_STEPS ?? 10);
const ETA_STEP_MS = Number(process.env.BENCH_ETA_STEP_MS ?? 60);
const PHASES = new Set((process.env.BENCH_PHASES ?? "progress,eta").split(","));
const LIMITS = { max_active_jobs_per_user: 1000, max_active_jobs_per_tenant: 1000, requests_per_minute: 100_000 };

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
/** The machine's monotonic clock in ms (CLOCK_MONOTONIC: the same in every thread and process). */
const mono = () => Number(process.hrtime.bigint()) / 1e6;
/** performance.now() (SseReader's receivedAt) + this = mono(). Both count from the same clock. */
const PERF_TO_MONO = (() => {
  performance.now(); // the first use loads perf_hooks: not inside the measured difference
  return mono() - performance.now();
})();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seed = 1;

// --- The recording proxy (a worker thread: its own event loop) -----------------------------------

const PROXY_SOURCE = `
const http = require("node:http");
const { parentPort } = require("node:worker_threads");
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const EVENTS = /^\\/v1\\/hosts\\/[^/]+\\/events$/;
let target;
parentPort.on("message", (m) => { if (m.target) target = new URL(m.target); });
const server = http.createServer((req, res) => {
  const arrived = Number(process.hrtime.bigint()) / 1e6;
  const arrivedWall = Date.now();
  if (!target) { res.writeHead(503).end(); return; }
  const forward = (body) => {
    const up = http.request(
      { agent, host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (r) => {
        res.writeHead(r.statusCode || 502, r.headers);
        r.pipe(res);
        if (body) r.on("end", () => onAnswered(body));
      },
    );
    up.on("error", () => res.destroy());
    if (body) up.end(body);
    else req.pipe(up);
  };
  let progress;
  const onAnswered = () => {
    if (progress) parentPort.postMessage({ ...progress, answered: Number(process.hrtime.bigint()) / 1e6 });
  };
  if (req.method === "POST" && EVENTS.test(req.url || "")) {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      try {
        const ev = JSON.parse(body.toString("utf8"));
        if (ev && ev.type === "job.progress" && ev.progress) {
          const key = ev.job_id + "|" + ev.attempt + "|" + ev.progress.node + "|" + ev.progress.value;
          progress = { key, job: ev.job_id, arrived, hostQueuedMs: arrivedWall - ev.at };
        }
      } catch {}
      forward(body);
    });
    req.on("error", () => res.destroy());
  } else forward(undefined);
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
`;

interface ProxyRecord {
  key: string;
  job: string;
  arrived: number;
  /** When the edge's answer to the host's POST had come back through the proxy. */
  answered: number;
  /** From the host queueing the event (its `at`, Date.now()) to its arrival here (Date.now()). */
  hostQueuedMs: number;
}

interface RecordingProxy {
  url: string;
  target(url: string): void;
  /** Every progress POST so far, by key. */
  records: Map<string, ProxyRecord>;
  close(): Promise<void>;
}

async function startRecordingProxy(): Promise<RecordingProxy> {
  const worker = new Worker(PROXY_SOURCE, { eval: true });
  const records = new Map<string, ProxyRecord>();
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the proxy thread did not start within 10 s")), 10_000);
    worker.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.on("message", (m: { port?: number } & Partial<ProxyRecord>) => {
      if (m.port !== undefined) {
        clearTimeout(timer);
        resolve(m.port);
      } else if (m.key !== undefined) records.set(m.key, m as ProxyRecord);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    target: (url) => worker.postMessage({ target: url }),
    records,
    close: async () => {
      await worker.terminate();
    },
  };
}

// --- Stopping what was started, whatever happens ---------------------------------------------------

const proxies = new Set<RecordingProxy>();

async function cleanup(): Promise<void> {
  await stopStacks();
  await Promise.all([...proxies].map((p) => p.close().catch(() => {})));
  proxies.clear();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`bench/watch: ${signal}, stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

// --- Streams ---------------------------------------------------------------------------------------

interface Receipt {
  key: string;
  job: string;
  at: number;
}

interface Follower {
  /** Resolves when the stream ended (its terminal event, or the deadline). */
  done: Promise<{ terminal: string | null; events: number; error?: string }>;
}

/** Opens a job's event stream; resolves once the edge answered 200 (the stream is registered with the job's feed). */
async function openStream(api: Client, t: Tenant, user: string, jobId: string, deadline: number, receipts: Receipt[]): Promise<Follower> {
  const res = await fetch(`${api.stack.edge.url}/v1/jobs/${jobId}/events`, {
    headers: api.headers(t, user),
    signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
  });
  if (res.status !== 200 || !res.body) throw new Error(`events of ${jobId}: ${res.status} ${await res.text()}`);
  const reader = new SseReader(res.body);
  const done = (async () => {
    let events = 0;
    try {
      // Bounded: a job's feed keeps at most JOB_EVENTS_MAX (10 000) events.
      for (let i = 0; i < 20_000; i++) {
        const left = deadline - Date.now();
        if (left <= 0) return { terminal: null, events, error: "deadline" };
        const ev = await reader.next(left);
        if (!ev) return { terminal: null, events, error: "stream ended without a terminal event" };
        events++;
        if (ev.event === "job.progress") {
          receipts.push({ key: `${jobId}|${ev.data.attempt}|${ev.data.node}|${ev.data.value}`, job: jobId, at: ev.receivedAt + PERF_TO_MONO });
        }
        if (ev.event === "job.succeeded" || ev.event === "job.failed" || ev.event === "job.cancelled") return { terminal: ev.event, events };
      }
      return { terminal: null, events, error: "too many events" };
    } catch (err) {
      return { terminal: null, events, error: err instanceof Error ? err.message : String(err) };
    } finally {
      await reader.close();
    }
  })();
  return { done };
}

async function setHosts(stack: LocalStack, action: "drain" | "resume"): Promise<void> {
  await Promise.all(
    stack.hosts.map(async (h) => {
      const res = await stack.admin(`/v1/admin/hosts/${h.id}/${action}`, { method: "POST" });
      if (res.status !== 200) throw new Error(`${action} ${h.id}: ${res.status} ${await res.text()}`);
    }),
  );
}

/** Runs `n` ≤ `limit` at a time. */
async function inBatches<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += limit) out.push(...(await Promise.all(Array.from({ length: Math.min(limit, n - i) }, (_, k) => fn(i + k)))));
  return out;
}

// --- 1. Progress latency ---------------------------------------------------------------------------

interface LatencySetup {
  jobs: number;
  streamsPerJob: number;
  steps: number;
}

async function progressSetup(api: Client, t: Tenant, proxy: RecordingProxy, setup: LatencySetup, report: boolean) {
  const user = `watch-${setup.jobs}x${setup.streamsPerJob}`;
  const jobMs = setup.steps * STEP_MS;
  // Generous: the jobs run HOSTS at a time, plus start-up and upload per job.
  const deadline = Date.now() + 60_000 + Math.ceil(setup.jobs / HOSTS) * (jobMs + 3_000);
  await setHosts(api.stack, "drain");
  let resumed = false;
  try {
    const jobs = await inBatches(setup.jobs, 25, () => api.submitOk(t, user, SLOW(setup.steps, STEP_MS, seed++)));
    const receipts: Receipt[] = [];
    const followers = await inBatches(setup.jobs * setup.streamsPerJob, 50, (i) => openStream(api, t, user, jobs[i % setup.jobs]!.id, deadline, receipts));
    const openAt = mono();
    await setHosts(api.stack, "resume");
    resumed = true;
    const ends = await Promise.all(followers.map((f) => f.done));
    const failed = ends.filter((e) => e.terminal !== "job.succeeded");
    if (failed.length > 0) console.error(`bench/watch: ${failed.length} streams did not see job.succeeded, e.g. ${JSON.stringify(failed[0])}`);
    if (!report) return;

    const ids = new Set(jobs.map((j) => j.id));
    const sent = [...proxy.records.values()].filter((r) => ids.has(r.job) && r.arrived >= openAt);
    const byKey = new Map(sent.map((r) => [r.key, r]));
    const latencies: number[] = [];
    let unmatched = 0;
    for (const r of receipts) {
      const p = byKey.get(r.key);
      if (p) latencies.push(r.at - p.arrived);
      else unmatched++;
    }
    const s = summarize(latencies);
    const post = summarize(sent.map((r) => r.answered - r.arrived));
    const hostQueue = summarize(sent.map((r) => r.hostQueuedMs));
    console.log(
      JSON.stringify({
        bench: "watch",
        figure: "progress_latency",
        streams: setup.jobs * setup.streamsPerJob,
        jobs: setup.jobs,
        p50_ms: s.p50_ms,
        p99_ms: s.p99_ms,
        samples: s.n,
        mean_ms: s.mean_ms,
        max_ms: s.max_ms,
        // Progress POSTs the hosts made for these jobs, and how many (stream, event) pairs never arrived.
        progress_posts: sent.length,
        missing: sent.length * setup.streamsPerJob - latencies.length,
        unmatched,
        streams_failed: failed.length,
        // The edge's answer time to a host's progress POST (it answers after publishing to the feed).
        host_post_p50_ms: post.p50_ms,
        host_post_p99_ms: post.p99_ms,
        // Not in the latency: how long an event waited in its gpu-backend (sent one at a time) before it reached the proxy.
        host_queue_p50_ms: hostQueue.p50_ms,
        host_queue_p99_ms: hostQueue.p99_ms,
        concurrent_jobs: Math.min(setup.jobs, HOSTS),
        steps: setup.steps,
        step_ms: STEP_MS,
        progress_interval_ms: PROGRESS_INTERVAL_MS,
      }),
    );
  } finally {
    if (!resumed) await setHosts(api.stack, "resume").catch(() => {});
  }
}

async function progressLatency(): Promise<void> {
  const proxy = await startRecordingProxy();
  proxies.add(proxy);
  try {
    await withStack(
      {
        hosts: HOSTS,
        backendEnv: { PROGRESS_INTERVAL_MS: String(PROGRESS_INTERVAL_MS) },
        hostEdgeUrl: (edgeUrl) => {
          proxy.target(edgeUrl);
          return proxy.url;
        },
      },
      async (stack) => {
        const api = new Client(stack);
        const t = await api.tenant(LIMITS);
        // Warm-up (not reported): the first stream and job on a fresh wrangler dev are slow.
        await progressSetup(api, t, proxy, { jobs: 2, streamsPerJob: 2, steps: 20 }, false);
        await progressSetup(api, t, proxy, { jobs: 1, streamsPerJob: 1, steps: ONE_JOB_STEPS }, true);
        await progressSetup(api, t, proxy, { jobs: 1, streamsPerJob: 200, steps: ONE_JOB_STEPS }, true);
        await progressSetup(api, t, proxy, { jobs: 50, streamsPerJob: 4, steps: MANY_JOB_STEPS }, true);
      },
    );
  } finally {
    proxies.delete(proxy);
    await proxy.close();
  }
}

// --- 2. ETA error ----------------------------------------------------------------------------------

interface Taken {
  id: string;
  /** Date.now() when the answer carrying the estimate arrived. */
  at: number;
  status: string;
  estimate: number | null;
}

function etaFigure(moment: string, taken: Taken[], ended: Map<string, Job>, extra: Record<string, unknown>) {
  const queued = taken.filter((x) => x.status === "queued");
  const withEstimate = queued.filter((x) => x.estimate !== null && ended.get(x.id)?.started_at);
  const errors: number[] = [];
  const signed: number[] = [];
  for (const x of withEstimate) {
    const actual = (Date.parse(ended.get(x.id)!.started_at) - x.at) / 1000;
    errors.push(Math.abs(x.estimate! - actual) * 1000);
    signed.push(x.estimate! - actual);
  }
  const s = summarize(errors);
  console.log(
    JSON.stringify({
      bench: "watch",
      figure: "eta_error",
      moment,
      p50_s: round(s.p50_ms / 1000),
      p90_s: round(s.p90_ms / 1000),
      max_s: round(s.max_ms / 1000),
      // Mean of estimate − actual: > 0 the estimates were late (pessimistic), < 0 early.
      bias_s: round(signed.reduce((a, b) => a + b, 0) / (signed.length || 1)),
      null: queued.filter((x) => x.estimate === null).length,
      not_queued: taken.length - queued.length,
      samples: errors.length,
      jobs: taken.length,
      ...extra,
    }),
  );
}

async function etaError(): Promise<void> {
  await withStack({ hosts: 2 }, async (stack) => {
    const api = new Client(stack);
    const t = await api.tenant(LIMITS);
    const user = "eta";
    const wf = () => SLOW(ETA_STEPS, ETA_STEP_MS, seed++);
    const warm = await Promise.all(Array.from({ length: ETA_WARMUP }, () => api.submitOk(t, user, wf())));
    await api.waitForAllEnded(
      t,
      user,
      warm.map((j) => j.id),
      60_000,
    );
    await sleep(500);

    const firstSubmit = Date.now();
    const atSubmit = await inBatches(ETA_JOBS, 25, async (): Promise<Taken> => {
      const j = await api.submitOk(t, user, wf());
      return { id: j.id, at: Date.now(), status: j.status, estimate: j.estimated_start_seconds ?? null };
    });
    const submittedIn = Date.now() - firstSubmit;
    const atGet = await Promise.all(
      atSubmit.map(async (x): Promise<Taken> => {
        const j = await api.job(t, user, x.id);
        return { id: x.id, at: Date.now(), status: j.status, estimate: j.estimated_start_seconds ?? null };
      }),
    );
    const ids = atSubmit.map((x) => x.id);
    const ended = await api.waitForAllEnded(t, user, ids, 30_000 + ETA_JOBS * (ETA_STEPS * ETA_STEP_MS + 2_000));
    const ok = [...ended.values()].filter((j) => j.status === "succeeded").length;
    const lastEnd = Math.max(...[...ended.values()].map((j) => (j.finished_at ? Date.parse(j.finished_at) : Number.NaN)));
    const extra = {
      hosts: 2,
      job_ms: ETA_STEPS * ETA_STEP_MS,
      warmup: ETA_WARMUP,
      submitted_in_s: round(submittedIn / 1000),
      succeeded: ok,
      makespan_s: round((lastEnd - firstSubmit) / 1000),
    };
    etaFigure("submit", atSubmit, ended, extra);
    etaFigure("get", atGet, ended, extra);
  });
}

try {
  if (PHASES.has("progress")) await progressLatency();
  if (PHASES.has("eta")) await etaError();
} finally {
  await cleanup();
}
