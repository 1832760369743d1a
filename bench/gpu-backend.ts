// Benchmark (issue 4): what gpu-backend costs per job, and whether it keeps the GPU busy.
//
// ComfyUI is the emulator, run as its own process. In one run:
// 1. per-job time, sequentially, through gpu-backend (fake edge dispatch → terminal event applied,
//    outputs uploaded) vs posting the same workflow straight to the emulator (POST /prompt →
//    `executing null` → /history → /view of the output), with zero-time nodes and with 200 ms
//    nodes (--node-ms 200: both nodes of EmptyImage → SaveImage take 200 ms). Every job varies the
//    colour so ComfyUI's cache never answers for it; p50/p99 and the ratio of the p50s.
// 2. a backlog of 50 jobs, refilled by the fake edge as each job ends (as the dispatcher does):
//    the idle gap between one prompt's execution_success and the next one's execution_start, read
//    from the emulator's own history timestamps (ms). Target p99 < 20 ms with PREFETCH=1; shown
//    next to ComfyUI's own gap (50 prompts posted at once) and PREFETCH=0.
// Prints JSON lines. Not part of the tests. `node bench/gpu-backend.ts` (BENCH_JOBS to change N).
import WebSocket from "ws";
import { type ServiceHandle, startService } from "../gpu-backend/src/app.ts";
import { loadConfig } from "../gpu-backend/src/config.ts";
import { createLogger } from "../gpu-backend/src/log.ts";
import { FakeEdge } from "../gpu-backend/test/support/fake-edge.ts";
import { type EmulatorProcess, startEmulatorProcess } from "../scripts/lib/emulator-process.ts";
import type { JobEvent } from "../src/protocol/messages.ts";
import { summarize } from "./lib/stats.ts";

const JOBS_FAST = Number(process.env.BENCH_JOBS ?? 100);
const JOBS_SLOW = Math.max(5, Math.round(JOBS_FAST / 5));
const BACKLOG = 50;
let colour = 1;

function workflow(prefix: string): Record<string, unknown> {
  const c = colour++ % 0xffffff;
  return {
    "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: c } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: prefix } },
  };
}

const line = (value: Record<string, unknown>) => console.log(JSON.stringify({ bench: "gpu-backend", ...value }));

async function withBackend<T>(emulator: EmulatorProcess, env: Record<string, string>, fn: (edge: FakeEdge, service: ServiceHandle) => Promise<T>): Promise<T> {
  const edge = await FakeEdge.start({ hostId: "gpu-bench" });
  const loaded = loadConfig({
    ...edge.hostEnv(),
    COMFY_URL: emulator.url,
    COMFY_BASE_DIR: emulator.baseDir,
    PORT: "0",
    PROGRESS_INTERVAL_MS: "500",
    LOG_LEVEL: "error",
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("; "));
  const service = await startService(loaded.config, { log: createLogger("error") });
  try {
    for (let i = 0; i < 500 && service.link.state !== "ready"; i++) await new Promise((r) => setTimeout(r, 20));
    return await fn(edge, service);
  } finally {
    await service.close();
    await edge.close();
  }
}

/** Dispatch → terminal event applied at the edge (outputs already stored). */
async function viaBackend(emulator: EmulatorProcess, n: number): Promise<number[]> {
  return withBackend(emulator, {}, async (edge, service) => {
    const samples: number[] = [];
    for (let i = 0; i < n + 2; i++) {
      const req = edge.newJob(workflow("bench"));
      const t0 = performance.now();
      const reply = await edge.dispatch(service.url, req);
      if (reply.status !== 202) throw new Error(`dispatch → ${reply.status}`);
      const terminal = await edge.waitForTerminal(req.job_id, 60_000);
      const ms = performance.now() - t0;
      if (terminal.type !== "job.succeeded") throw new Error(`job failed: ${JSON.stringify(terminal)}`);
      if (i >= 2) samples.push(ms); // the first two warm up connections and caches
    }
    return samples;
  });
}

/** The same work straight against ComfyUI, done the way a careful client does it. */
async function direct(emulator: EmulatorProcess, n: number): Promise<number[]> {
  const clientId = `bench-${crypto.randomUUID()}`;
  const ws = new WebSocket(`${emulator.url.replace("http", "ws")}/ws?clientId=${clientId}`);
  const waiters = new Map<string, () => void>();
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(data.toString()) as { type: string; data: { node?: unknown; prompt_id?: string } };
    if (m.type === "executing" && m.data.node === null && m.data.prompt_id) waiters.get(m.data.prompt_id)?.();
  });
  await new Promise((resolve) => ws.once("message", resolve));
  const samples: number[] = [];
  try {
    for (let i = 0; i < n + 2; i++) {
      const promptId = crypto.randomUUID();
      const t0 = performance.now();
      const done = new Promise<void>((resolve) => waiters.set(promptId, resolve));
      const res = await fetch(`${emulator.url}/prompt`, {
        method: "POST",
        body: JSON.stringify({ prompt: workflow(`direct/${promptId}`), prompt_id: promptId, client_id: clientId }),
      });
      if (res.status !== 200) throw new Error(`POST /prompt → ${res.status}`);
      await res.arrayBuffer();
      await done;
      const history = (await (await fetch(`${emulator.url}/history/${promptId}`)).json()) as Record<
        string,
        { outputs: Record<string, { images: Array<{ filename: string; subfolder: string; type: string }> }> }
      >;
      const image = history[promptId]!.outputs["2"]!.images[0]!;
      const q = new URLSearchParams({ filename: image.filename, subfolder: image.subfolder, type: image.type });
      await (await fetch(`${emulator.url}/view?${q.toString()}`)).arrayBuffer();
      const ms = performance.now() - t0;
      waiters.delete(promptId);
      if (i >= 2) samples.push(ms);
    }
  } finally {
    ws.close();
  }
  return samples;
}

type HistoryEntry = { status: { messages: Array<[string, { timestamp?: number }]> } };

/** Idle gaps (ms) between consecutive prompts of `ids`, from the emulator's history timestamps. */
async function gapsOf(emulator: EmulatorProcess, ids: Set<string>): Promise<number[]> {
  const history = (await (await fetch(`${emulator.url}/history`)).json()) as Record<string, HistoryEntry>;
  const runs = Object.entries(history)
    .filter(([id]) => ids.has(id))
    .map(([, e]) => {
      const at = (name: string) => e.status.messages.find(([m]) => m === name)?.[1].timestamp ?? NaN;
      return { start: at("execution_start"), end: at("execution_success") };
    })
    .sort((a, b) => a.start - b.start);
  return runs.slice(1).map((r, i) => r.start - runs[i]!.end);
}

/** 50 jobs through gpu-backend, the fake edge dispatching the next one whenever a job ends. */
async function backlogViaBackend(emulator: EmulatorProcess, prefetch: number): Promise<{ gaps: number[]; wallMs: number }> {
  return withBackend(emulator, { PREFETCH: String(prefetch) }, async (edge, service) => {
    const capacity = 1 + prefetch;
    const backlog = Array.from({ length: BACKLOG }, () => edge.newJob(workflow("backlog")));
    const promptIds = new Set<string>();
    let next = 0;
    let finished = 0;
    let resolveAll: () => void = () => {};
    const all = new Promise<void>((r) => (resolveAll = r));
    const dispatchNext = async (): Promise<void> => {
      const req = backlog[next++];
      if (!req) return;
      for (;;) {
        const reply = await edge.dispatch(service.url, req);
        if (reply.status === 202) return;
        if (reply.status !== 409) throw new Error(`dispatch → ${reply.status} ${JSON.stringify(reply.json)}`);
        await new Promise((r) => setTimeout(r, 2)); // full: the slot frees in a moment
      }
    };
    edge.onEvent = (e: JobEvent) => {
      if (e.type === "job.started") promptIds.add(e.prompt_id);
      if (e.type === "job.succeeded" || e.type === "job.failed" || e.type === "job.cancelled") {
        if (e.type !== "job.succeeded") throw new Error(`job failed: ${JSON.stringify(e)}`);
        if (++finished === BACKLOG) resolveAll();
        else void dispatchNext();
      }
    };
    const t0 = performance.now();
    for (let i = 0; i < capacity; i++) await dispatchNext();
    await all;
    const wallMs = performance.now() - t0;
    return { gaps: await gapsOf(emulator, promptIds), wallMs };
  });
}

/** ComfyUI's own gap: 50 prompts posted at once, nothing else in the loop. */
async function backlogDirect(emulator: EmulatorProcess): Promise<number[]> {
  const ids = new Set<string>();
  for (let i = 0; i < BACKLOG; i++) {
    const promptId = crypto.randomUUID();
    ids.add(promptId);
    const res = await fetch(`${emulator.url}/prompt`, {
      method: "POST",
      body: JSON.stringify({ prompt: workflow(`direct-backlog/${promptId}`), prompt_id: promptId, client_id: "bench-backlog" }),
    });
    await res.arrayBuffer();
  }
  for (let i = 0; i < 3000; i++) {
    const q = (await (await fetch(`${emulator.url}/queue`)).json()) as { queue_running: unknown[]; queue_pending: unknown[] };
    if (q.queue_running.length + q.queue_pending.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return gapsOf(emulator, ids);
}

for (const nodeMs of [0, 200]) {
  const emulator = await startEmulatorProcess(["--node-ms", String(nodeMs), "--disable-metadata"]);
  try {
    const n = nodeMs === 0 ? JOBS_FAST : JOBS_SLOW;
    const d = summarize(await direct(emulator, n));
    const b = summarize(await viaBackend(emulator, n));
    line({ scenario: "per_job", node_ms: nodeMs, path: "direct", ...d });
    line({ scenario: "per_job", node_ms: nodeMs, path: "gpu-backend", ...b });
    line({
      scenario: "per_job_ratio",
      node_ms: nodeMs,
      p50_ratio: Math.round((b.p50_ms / d.p50_ms) * 100) / 100,
      p99_ratio: Math.round((b.p99_ms / d.p99_ms) * 100) / 100,
      p50_overhead_ms: Math.round((b.p50_ms - d.p50_ms) * 100) / 100,
    });

    if (nodeMs === 200) {
      line({ scenario: "backlog_idle_gap", node_ms: nodeMs, path: "direct (ComfyUI's own gap)", jobs: BACKLOG, ...summarize(await backlogDirect(emulator)) });
      for (const prefetch of [1, 0]) {
        const { gaps, wallMs } = await backlogViaBackend(emulator, prefetch);
        const s = summarize(gaps);
        line({
          scenario: "backlog_idle_gap",
          node_ms: nodeMs,
          path: "gpu-backend",
          prefetch,
          jobs: BACKLOG,
          wall_ms: Math.round(wallMs),
          ...s,
          ...(prefetch === 1 ? { target_p99_ms: 20, met: s.p99_ms < 20 } : {}),
        });
      }
    } else {
      const { gaps, wallMs } = await backlogViaBackend(emulator, 1);
      line({
        scenario: "backlog_idle_gap",
        node_ms: nodeMs,
        path: "gpu-backend",
        prefetch: 1,
        jobs: BACKLOG,
        wall_ms: Math.round(wallMs),
        ...summarize(gaps),
        note: "zero-time prompts end before the refill dispatch lands; gaps here measure the dispatch loop, not ComfyUI",
      });
    }
  } finally {
    await emulator.stop();
  }
}
