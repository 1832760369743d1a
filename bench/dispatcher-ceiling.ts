// Benchmark (issue 21, part 4): the Dispatcher's ceiling — how many dispatches per second one
// pool's Dispatcher makes before it saturates, and what a submit costs at that rate — against a
// real `wrangler dev`. docs/scale.md reads the figures.
//
// One pool (the default) with HOSTS instant fake hosts of SLOTS slots each (bench/lib/bench-host.ts,
// mode "instant": a dispatch is answered 202 and reported `job.started` and `job.succeeded`, no
// outputs, at once), so neither hosts nor slots are the limit. TENANTS tenants with high limits
// submit open loop (a POST /v1/jobs every 1/rate s, whatever the answers) at rising offered rates
// (BENCH_RATES); each step is STEP_SECONDS of submits (at least STEP_MIN_JOBS, at most STEP_JOBS)
// and then waits for all of them to end. Per step: dispatches and completions per second as the
// hosts saw them (from the step's first submit), submit latency, the wait from sending the submit to the
// dispatch arriving (client clock) and created_at → started_at (a sample of job views, server
// clock), and the CPU the local workerd used (from /proc, Linux: workerd runs the Worker, every
// Durable Object and the local D1 on one JS thread, so a thread near 100% means the local runtime
// is the limit). The steps stop once throughput stops growing: a saturated step (dispatched < 90%
// of offered) less than 10% above the best before it.
// Then a backlog phase: the hosts drain, as many jobs as the pool has slots are queued, the hosts
// resume at once — the Dispatcher's dispatch rate with no submits competing for the machine (from
// the resume to the last dispatch's arrival).
// BENCH_SHARDS=S runs the same with the pool spread over S Dispatcher shards (docs/scale.md): the
// tenants hash over them, the hosts are balanced across them, idle shards steal.
// JSON lines on stdout; the last one is the summary.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { settings } from "../src/config/schema.ts";
import { BENCH_ADMIN_TOKEN, BENCH_VARS, createTenantWithKey, WORKFLOW } from "./lib/api.ts";
import { type BenchHost, startBenchHost } from "./lib/bench-host.ts";
import { percentile } from "./lib/stats.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 8);
/** The pool's Dispatcher shards (docs/scale.md); hosts spread over them as they register. */
const SHARDS = Number(process.env.BENCH_SHARDS ?? 1);
/** gpu-backend's most (SLOTS + PREFETCH ≤ 64) with room left under the heartbeat's 64 jobs. */
const SLOTS = 32;
const TENANTS = 8;
const USERS = 4;
const RATES = (process.env.BENCH_RATES ?? "8,16,32,64,128,256,512,1024").split(",").map(Number);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 6);
const STEP_JOBS = Number(process.env.BENCH_STEP_JOBS ?? 1200);
/** At least this many jobs a step, so a slow step still has percentiles. */
const STEP_MIN_JOBS = 48;
/** As many as the pool's slots: all of them dispatched at once, none waits for a completion. */
const BACKLOG = HOSTS * SLOTS;
const VIEW_SAMPLE = 100;
const SUBMIT_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 90_000;
/** Queueing the backlog stops after this long, however many were queued. */
const FILL_BUDGET_MS = 60_000;
/** No new step starts after this much of the run (the whole bench stays near 5 minutes). */
const STEPS_BUDGET_MS = 180_000;
const LIMITS = { max_active_jobs_per_user: 10_000, max_active_jobs_per_tenant: 100_000, requests_per_minute: 1_000_000 };
const HEARTBEAT_EVERY_MS = (settings.HOST_HEARTBEAT_TIMEOUT_SECONDS.schema.parse(undefined) * 1000) / 4;

const BENCH = "dispatcher-ceiling";
const print = (figure: Record<string, unknown>) => console.log(JSON.stringify({ bench: BENCH, ...figure }));
const round1 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ascending = (xs: number[]) => [...xs].sort((a, b) => a - b);
const p = (xs: number[], q: number) => round1(percentile(ascending(xs), q));
/**
 * A step's throughput: its events over the time from its first submit to its last event. A step
 * that keeps up shows the offered rate (less latency / step length), a saturated one its service
 * rate, and a burst that catches up late counts as late.
 */
const ratePerS = (from: number, times: number[]) => (times.length === 0 ? null : round1((times.length / (Math.max(...times) - from)) * 1000));

// ===== What the hosts saw (performance.now(), this process's clock)

const dispatchedAt = new Map<string, number>();
const dispatchCount = new Map<string, number>();
const endedAt = new Map<string, number>();
/** Jobs whose started or succeeded the edge refused (a 409: the edge had moved the job on). */
const endFailed = new Set<string>();

// ===== CPU of the local runtime: the workerd processes under this wrangler dev (Linux /proc)

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

function statFields(path: string): string[] {
  const s = readFileSync(path, "utf8");
  // The name (field 2) may hold spaces; the fields after it start at field 3 (state).
  return s.slice(s.lastIndexOf(")") + 2).split(" ");
}

/** workerd processes whose ancestry holds the wrangler started with `--port <port>`. */
function workerdPids(port: number): number[] {
  const pids = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const parent = new Map<number, number>();
  const name = new Map<number, string>();
  const roots = new Set<number>();
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, "utf8");
      name.set(pid, s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")));
      parent.set(pid, Number(statFields(`/proc/${pid}/stat`)[1]));
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      const i = argv.indexOf("--port");
      if (i >= 0 && argv[i + 1] === String(port) && argv.some((a) => a.includes("wrangler"))) roots.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number) => {
    for (let q = pid, hops = 0; q > 1 && hops < 32; q = parent.get(q) ?? 0, hops++) if (roots.has(q)) return true;
    return false;
  };
  return pids.filter((pid) => name.get(pid) === "workerd" && under(pid));
}

/** CPU ms per thread of these processes (utime + stime). */
function threadCpuMs(pids: number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const f = statFields(`/proc/${pid}/task/${tid}/stat`);
        out.set(`${pid}/${tid}`, ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK);
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Total and busiest-thread CPU % (100 = one core) between two samples `wallMs` apart. */
function cpuBetween(a: Map<string, number>, b: Map<string, number>, wallMs: number) {
  let total = 0;
  let busiest = 0;
  for (const [t, ms] of b) {
    const d = ms - (a.get(t) ?? 0);
    total += d;
    busiest = Math.max(busiest, d);
  }
  return { workerd_cpu_pct: round1((total / wallMs) * 100), workerd_busiest_thread_pct: round1((busiest / wallMs) * 100) };
}

// ===== The run

const hosts: BenchHost[] = [];
const dev = await startWranglerDev(BENCH_VARS);
const runStart = performance.now();
try {
  const admin = { Authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "Content-Type": "application/json" };
  const pool = settings.DEFAULT_POOL.schema.parse(undefined);
  if (SHARDS > 1) {
    const res = await fetch(`${dev.url}/v1/admin/pools/${pool}`, { method: "PATCH", headers: admin, body: JSON.stringify({ dispatcher_shards: SHARDS }) });
    if (res.status !== 200) throw new Error(`setting dispatcher_shards=${SHARDS}: ${res.status} ${await res.text()}`);
  }
  for (let i = 0; i < HOSTS; i++) {
    const host = await startBenchHost(dev.url, {
      id: `instant-${i + 1}`,
      pool,
      slots: SLOTS,
      mode: "instant",
      onDispatch: (d, at) => {
        if (!dispatchedAt.has(d.job_id)) dispatchedAt.set(d.job_id, at);
        dispatchCount.set(d.job_id, (dispatchCount.get(d.job_id) ?? 0) + 1);
      },
      onEnded: (ref, at, ok) => {
        if (ok) endedAt.set(ref.job_id, at);
        else endFailed.add(ref.job_id);
      },
    });
    hosts.push(host);
    await host.keepAlive(HEARTBEAT_EVERY_MS);
  }
  const tenants = await Promise.all(Array.from({ length: TENANTS }, () => createTenantWithKey(dev.url, LIMITS)));
  const body = JSON.stringify({ workflow: WORKFLOW });
  const workerd = workerdPids(dev.port);
  const threads = workerd.reduce((n, pid) => n + readdirSync(`/proc/${pid}/task`).length, 0);

  interface Sent {
    id?: string;
    status: number;
    sentAt: number;
    ms: number;
  }
  /** Who submitted each job, to read its view. */
  const ownerOf = new Map<string, { t: number; user: string }>();
  let jobIndex = 0;
  const note = (s: Sent, i: number) => {
    if (s.id) ownerOf.set(s.id, { t: i % TENANTS, user: `u${Math.floor(i / TENANTS) % USERS}` });
    return s;
  };
  /** One submit, timed to the end of its answer; the job's id when it was accepted. */
  const submit = async (i: number): Promise<Sent> => {
    const t = tenants[i % TENANTS]!;
    const headers = { Authorization: `Bearer ${t.key}`, "X-User-ID": `u${Math.floor(i / TENANTS) % USERS}`, "Content-Type": "application/json" };
    const sentAt = performance.now();
    try {
      const res = await fetch(`${dev.url}/v1/jobs`, { method: "POST", headers, body, signal: AbortSignal.timeout(SUBMIT_TIMEOUT_MS) });
      const text = await res.text();
      const ms = performance.now() - sentAt;
      if (res.status !== 202) return { status: res.status, sentAt, ms };
      return { id: (JSON.parse(text) as { id: string }).id, status: 202, sentAt, ms };
    } catch {
      return { status: 0, sentAt, ms: performance.now() - sentAt };
    }
  };
  /** Waits (bounded) until every one of `ids` ended on its host. */
  const drained = async (ids: string[]) => {
    const deadline = performance.now() + DRAIN_TIMEOUT_MS;
    while (performance.now() < deadline && ids.some((id) => !endedAt.has(id))) await sleep(50);
    return ids.filter((id) => !endedAt.has(id)).length;
  };
  /** created_at → started_at of up to VIEW_SAMPLE of `ids`, spread over the step (server clock). */
  const queueWaits = async (ids: string[]) => {
    const every = Math.max(1, Math.floor(ids.length / VIEW_SAMPLE));
    const sample = ids.filter((_, k) => k % every === 0).slice(0, VIEW_SAMPLE);
    const waits: number[] = [];
    for (let k = 0; k < sample.length; k += 10) {
      await Promise.all(
        sample.slice(k, k + 10).map(async (id) => {
          const owner = ownerOf.get(id)!;
          const res = await fetch(`${dev.url}/v1/jobs/${id}`, { headers: { Authorization: `Bearer ${tenants[owner.t]!.key}`, "X-User-ID": owner.user } });
          const view = (await res.json()) as { created_at: string; started_at: string | null };
          if (res.status === 200 && view.started_at) waits.push(Date.parse(view.started_at) - Date.parse(view.created_at));
        }),
      );
    }
    return waits;
  };

  /** Open loop: submit k is sent at start + k/rate, whether or not earlier ones were answered. */
  const step = async (rate: number, jobs: number) => {
    const cpu0 = threadCpuMs(workerd);
    const bench0 = process.cpuUsage();
    const t0 = performance.now();
    const inFlight: Promise<Sent>[] = [];
    for (let k = 0; k < jobs; k++) {
      const wait = t0 + (k * 1000) / rate - performance.now();
      if (wait > 1) await sleep(wait);
      const i = jobIndex++;
      inFlight.push(submit(i).then((s) => note(s, i)));
    }
    const sent = await Promise.all(inFlight);
    const ids = sent.flatMap((s) => (s.id ? [s.id] : []));
    const lost = await drained(ids);
    const wall = performance.now() - t0;
    const cpu = cpuBetween(cpu0, threadCpuMs(workerd), wall);
    const benchCpu = process.cpuUsage(bench0);
    const bySent = new Map(sent.flatMap((s) => (s.id ? [[s.id, s.sentAt] as const] : [])));
    const dispatched = ids.filter((id) => dispatchedAt.has(id));
    const submitMs = sent.map((s) => s.ms);
    const toDispatch = dispatched.map((id) => dispatchedAt.get(id)! - bySent.get(id)!);
    const toEnd = dispatched.filter((id) => endedAt.has(id)).map((id) => endedAt.get(id)! - dispatchedAt.get(id)!);
    const dispatchTimes = dispatched.map((id) => dispatchedAt.get(id)!);
    const endTimes = ids.filter((id) => endedAt.has(id)).map((id) => endedAt.get(id)!);
    return {
      ids,
      lost,
      figures: {
        achieved_offered_per_s: round1(((sent.length - 1) / (Math.max(...sent.map((s) => s.sentAt)) - t0)) * 1000),
        dispatched_per_s: ratePerS(t0, dispatchTimes),
        completed_per_s: ratePerS(t0, endTimes),
        submit_p50_ms: p(submitMs, 50),
        submit_p99_ms: p(submitMs, 99),
        submit_to_dispatch_p50_ms: p(toDispatch, 50),
        submit_to_dispatch_p99_ms: p(toDispatch, 99),
        dispatch_to_end_p50_ms: p(toEnd, 50),
        ...cpu,
        bench_cpu_pct: round1(((benchCpu.user + benchCpu.system) / 1000 / wall) * 100),
        submit_errors: sent.filter((s) => s.status !== 202).length,
        not_ended: lost,
        redispatched: ids.filter((id) => (dispatchCount.get(id) ?? 0) > 1).length,
        refused_events: ids.filter((id) => endFailed.has(id)).length,
      },
    };
  };

  print({
    phase: "setup",
    dispatcher_shards: SHARDS,
    hosts: HOSTS,
    slots: SLOTS,
    tenants: TENANTS,
    users_per_tenant: USERS,
    workerd_processes: workerd.length,
    workerd_threads: threads,
  });
  // Warm-up (not reported): every path compiled, every object created once.
  const warm = await step(20, 40);
  if (warm.figures.submit_errors > 0 || warm.lost > 0) throw new Error(`warm-up: ${JSON.stringify(warm.figures)}`);

  type StepLine = { offered_per_s: number; jobs: number } & Awaited<ReturnType<typeof step>>["figures"] & { queue_wait_p50_ms: number | null };
  const lines: StepLine[] = [];
  let best = 0;
  for (const rate of RATES) {
    if (performance.now() - runStart > STEPS_BUDGET_MS) break;
    const jobs = Math.min(STEP_JOBS, Math.max(STEP_MIN_JOBS, Math.round(rate * STEP_SECONDS)));
    const r = await step(rate, jobs);
    const waits = await queueWaits(r.ids);
    const line = { offered_per_s: rate, jobs, ...r.figures, queue_wait_p50_ms: p(waits, 50), queue_wait_p99_ms: p(waits, 99) };
    print({ phase: "step", ...line });
    lines.push(line);
    const dispatched = line.dispatched_per_s ?? 0;
    const saturated = dispatched < 0.9 * rate;
    if (r.lost > jobs / 5 || line.submit_errors > jobs / 5) break;
    if (saturated && dispatched < 1.1 * best) break;
    best = Math.max(best, dispatched);
  }

  // Backlog: queued while every host drains, then dispatched with no submits competing.
  for (const h of hosts) {
    const res = await fetch(`${dev.url}/v1/admin/hosts/${h.id}/drain`, { method: "POST", headers: admin });
    if (res.status !== 200) throw new Error(`drain ${h.id}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  const queuedIds: string[] = [];
  const fillStart = performance.now();
  for (let k = 0; k < BACKLOG && performance.now() - fillStart < FILL_BUDGET_MS; k += 16) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(16, BACKLOG - k) }, () => {
        const i = jobIndex++;
        return submit(i).then((s) => note(s, i));
      }),
    );
    queuedIds.push(...batch.flatMap((s) => (s.id ? [s.id] : [])));
  }
  const fillMs = performance.now() - fillStart;
  const earlyDispatches = queuedIds.filter((id) => dispatchedAt.has(id)).length;
  const cpu0 = threadCpuMs(workerd);
  const t0 = performance.now();
  await Promise.all(
    hosts.map(async (h) => {
      const res = await fetch(`${dev.url}/v1/admin/hosts/${h.id}/resume`, { method: "POST", headers: admin });
      await res.arrayBuffer();
    }),
  );
  const lost = await drained(queuedIds);
  const cpu = cpuBetween(cpu0, threadCpuMs(workerd), performance.now() - t0);
  const backlogDispatches = queuedIds.filter((id) => dispatchedAt.has(id)).map((id) => dispatchedAt.get(id)!);
  const backlogEnds = queuedIds.filter((id) => endedAt.has(id)).map((id) => endedAt.get(id)!);
  const backlog = {
    queued: queuedIds.length,
    fill_submits_per_s: round1((queuedIds.length / fillMs) * 1000),
    dispatched_before_resume: earlyDispatches,
    first_dispatch_after_resume_ms: round1(Math.min(...backlogDispatches) - t0),
    dispatched_per_s: ratePerS(t0, backlogDispatches),
    completed_per_s: ratePerS(t0, backlogEnds),
    not_ended: lost,
    redispatched: queuedIds.filter((id) => (dispatchCount.get(id) ?? 0) > 1).length,
    refused_events: queuedIds.filter((id) => endFailed.has(id)).length,
    ...cpu,
  };
  print({ phase: "backlog", ...backlog });

  // The ceiling: the best dispatch rate of any step; "sustained": the highest offered rate the
  // dispatches kept up with (≥ 90% of it).
  const top = lines.reduce<StepLine | undefined>((a, l) => ((l.dispatched_per_s ?? 0) > (a?.dispatched_per_s ?? 0) ? l : a), undefined);
  const kept = lines.filter((l) => (l.dispatched_per_s ?? 0) >= 0.9 * l.offered_per_s).at(-1);
  print({
    phase: "summary",
    ceiling_dispatches_per_s: top?.dispatched_per_s ?? null,
    at_offered_per_s: top?.offered_per_s ?? null,
    submit_p50_ms_at_ceiling: top?.submit_p50_ms ?? null,
    submit_p99_ms_at_ceiling: top?.submit_p99_ms ?? null,
    queue_wait_p50_ms_at_ceiling: top?.queue_wait_p50_ms ?? null,
    workerd_cpu_pct_at_ceiling: top?.workerd_cpu_pct ?? null,
    max_sustained_offered_per_s: kept?.offered_per_s ?? null,
    submit_p50_ms_at_sustained: kept?.submit_p50_ms ?? null,
    submit_p99_ms_at_sustained: kept?.submit_p99_ms ?? null,
    backlog_dispatches_per_s: backlog.dispatched_per_s,
    refused_events: endFailed.size,
    seconds: Math.round((performance.now() - runStart) / 1000),
  });
} finally {
  for (const h of hosts) await h.stop().catch(() => {});
  await dev.stop();
}
