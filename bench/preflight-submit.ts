// Benchmark (issue 13, item 3): what pre-flight adds to a submit, end to end in `wrangler dev`.
//
// Two pools, each with one bench host (bench/lib/bench-host.ts: live, ComfyUI ready, answers
// dispatch with 202 and confirms cancels): "checked" has published a catalog — the recorded
// ComfyUI 0.3.64 object_info padded to BENCH_CLASSES (400) classes, with the graphs' checkpoint —
// and "unchecked" has published none, so pre-flight skips there. Both pools pay the same lookup of
// their live catalogs; the difference is the catalog read (cached per isolate) and the validation.
//
// Phase A: POST /v1/jobs with a 2-node and a valid 60-node graph, in each pool, one request at a
// time, the four combinations rotated every round so machine noise falls on all of them alike.
// Each job is cancelled (and confirmed by its host) before the next submit, untimed, so every
// submit meets the same state. Added cost = checked p50 − unchecked p50 per graph (target ≤ 3 ms).
// Phase B: POST /v1/workflows/validate, the same four combinations.
// Prints JSON lines.

import { startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { settings } from "../src/config/schema.ts";
import { BENCH_ADMIN_TOKEN, BENCH_VARS, createTenantWithKey } from "./lib/api.ts";
import { type BenchHost, startBenchHost } from "./lib/bench-host.ts";
import { CKPT, largeGraph, padClasses, recordedObjectInfo, SMALL, type Workflow } from "./lib/preflight-fixtures.ts";
import { summarize, timed } from "./lib/stats.ts";

const N = Number(process.env.BENCH_N ?? 200);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const CLASSES = Number(process.env.BENCH_CLASSES ?? 400);
const TARGET_ADDED_P50_MS = 3;
/** A quarter of the edge's heartbeat timeout: the hosts stay live through a slow moment. */
const HEARTBEAT_EVERY_MS = (settings.HOST_HEARTBEAT_TIMEOUT_SECONDS.schema.parse(undefined) * 1000) / 4;

const BENCH = "preflight-submit";
const print = (figure: Record<string, unknown>) => console.log(JSON.stringify({ bench: BENCH, ...figure }));
const round2 = (x: number) => Math.round(x * 100) / 100;

type PoolKind = "checked" | "unchecked";
type GraphName = "2-node" | "60-node";
const GRAPHS: Record<GraphName, Workflow> = { "2-node": SMALL, "60-node": largeGraph() };
const COMBOS = (["checked", "unchecked"] as const).flatMap((pool) => (["2-node", "60-node"] as const).map((graph) => ({ pool, graph })));
const comboKey = (c: { pool: PoolKind; graph: GraphName }) => `${c.pool}/${c.graph}`;

const hosts: BenchHost[] = [];
const dev = await startWranglerDev(BENCH_VARS);
try {
  const admin = { Authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "Content-Type": "application/json" };
  const pools: Record<PoolKind, string> = { checked: "bench-checked", unchecked: "bench-unchecked" };
  for (const name of Object.values(pools)) {
    const res = await fetch(`${dev.url}/v1/admin/pools`, { method: "POST", headers: admin, body: JSON.stringify({ name }) });
    if (res.status !== 201) throw new Error(`pool ${name}: ${res.status} ${await res.text()}`);
  }
  const checkedHost = await startBenchHost(dev.url, { id: "bench-checked-1", pool: pools.checked, slots: 4 });
  hosts.push(checkedHost);
  const uncheckedHost = await startBenchHost(dev.url, { id: "bench-unchecked-1", pool: pools.unchecked, slots: 4 });
  hosts.push(uncheckedHost);
  const hostOf: Record<PoolKind, BenchHost> = { checked: checkedHost, unchecked: uncheckedHost };

  const objectInfo = padClasses(recordedObjectInfo(), CLASSES);
  const models = { checkpoints: [CKPT, ...Array.from({ length: 40 }, (_, i) => `other-${i}.safetensors`)].map((name) => ({ name, size: 2_132_696_762 })) };
  await checkedHost.publishCatalog({ object_info: objectInfo, models });
  await checkedHost.keepAlive(HEARTBEAT_EVERY_MS);
  await uncheckedHost.keepAlive(HEARTBEAT_EVERY_MS);

  const { key } = await createTenantWithKey(dev.url, { max_active_jobs_per_user: 100, max_active_jobs_per_tenant: 100, requests_per_minute: 1_000_000 });
  const headers = { Authorization: `Bearer ${key}`, "X-User-ID": "bench", "Content-Type": "application/json" };
  const bodies = new Map(COMBOS.map((c) => [comboKey(c), JSON.stringify({ workflow: GRAPHS[c.graph], pool: pools[c.pool] })]));

  /** One timed submit (request and answer body); then, untimed, its dispatch, cancel and the host's confirmation. */
  const submit = async (c: { pool: PoolKind; graph: GraphName }, body = bodies.get(comboKey(c))!): Promise<{ ms: number; status: number }> => {
    const [ms, res] = await timed(async () => {
      const r = await fetch(`${dev.url}/v1/jobs`, { method: "POST", headers, body });
      return { status: r.status, text: await r.text() };
    });
    if (res.status === 202) {
      const id = (JSON.parse(res.text) as { id: string }).id;
      await hostOf[c.pool].dispatched(id);
      const cancel = await fetch(`${dev.url}/v1/jobs/${id}`, { method: "DELETE", headers });
      if (cancel.status !== 200) throw new Error(`cancel ${id}: ${cancel.status} ${await cancel.text()}`);
      await cancel.arrayBuffer();
      await hostOf[c.pool].cancelled(id);
    }
    return { ms, status: res.status };
  };
  const validate = async (c: { pool: PoolKind; graph: GraphName }) => {
    const [ms, res] = await timed(async () => {
      const r = await fetch(`${dev.url}/v1/workflows/validate`, { method: "POST", headers, body: bodies.get(comboKey(c))! });
      return { status: r.status, json: (await r.json()) as { valid: boolean; checked: boolean; eligible_hosts: number; errors: unknown[] } };
    });
    return { ms, ...res };
  };

  // Cold: the first checked submit reads the catalog from R2, parses and compiles it.
  const coldUnchecked = await submit({ pool: "unchecked", graph: "2-node" });
  const coldChecked = await submit({ pool: "checked", graph: "2-node" });
  if (coldUnchecked.status !== 202 || coldChecked.status !== 202) throw new Error(`cold submits: ${coldUnchecked.status}, ${coldChecked.status}`);
  print({ phase: "cold", first_unchecked_submit_ms: round2(coldUnchecked.ms), first_checked_submit_ms: round2(coldChecked.ms) });

  // Before timing: both graphs pass against the catalog, the unchecked pool is really unchecked,
  // and the submit really runs pre-flight (a checkpoint the host lacks is refused only when checked).
  for (const c of COMBOS) {
    const v = await validate(c);
    const expected = c.pool === "checked" ? { valid: true, checked: true, eligible_hosts: 1 } : { valid: true, checked: false, eligible_hosts: 0 };
    if (v.status !== 200 || v.json.valid !== expected.valid || v.json.checked !== expected.checked || v.json.eligible_hosts !== expected.eligible_hosts)
      throw new Error(`validate ${comboKey(c)}: ${v.status} ${JSON.stringify(v.json)}`);
    const s = await submit(c);
    if (s.status !== 202) throw new Error(`submit ${comboKey(c)}: ${s.status}`);
  }
  const missing = structuredClone(GRAPHS["60-node"]);
  missing["1"]!.inputs.ckpt_name = "not-on-any-host.safetensors";
  for (const pool of ["checked", "unchecked"] as const) {
    const s = await submit({ pool, graph: "60-node" }, JSON.stringify({ workflow: missing, pool: pools[pool] }));
    const expected = pool === "checked" ? 422 : 202;
    if (s.status !== expected) throw new Error(`a missing checkpoint in pool ${pool}: ${s.status}, expected ${expected}`);
  }
  print({
    phase: "setup",
    classes: Object.keys(objectInfo).length,
    catalog_chars: JSON.stringify({ object_info: objectInfo, models }).length,
    nodes: Object.fromEntries(Object.entries(GRAPHS).map(([g, w]) => [g, Object.keys(w).length])),
    n: N,
    warmup: WARMUP,
    heartbeat_every_ms: HEARTBEAT_EVERY_MS,
  });

  /** N rounds of the four combinations (rotated each round), after WARMUP untimed rounds. */
  const run = async (one: (c: { pool: PoolKind; graph: GraphName }) => Promise<{ ms: number; status: number }>, ok: number) => {
    const samples = new Map(COMBOS.map((c) => [comboKey(c), [] as number[]]));
    for (let r = 0; r < WARMUP + N; r++) {
      for (let k = 0; k < COMBOS.length; k++) {
        const c = COMBOS[(r + k) % COMBOS.length]!;
        const { ms, status } = await one(c);
        if (status !== ok) throw new Error(`${comboKey(c)}: ${status}, expected ${ok}`);
        if (r >= WARMUP) samples.get(comboKey(c))!.push(ms);
      }
    }
    return samples;
  };
  const report = (phase: "submit" | "validate", samples: Map<string, number[]>) => {
    const stats = new Map([...samples].map(([k, v]) => [k, summarize(v)]));
    for (const c of COMBOS) print({ phase, graph: c.graph, nodes: Object.keys(GRAPHS[c.graph]).length, pool: c.pool, ...stats.get(comboKey(c)) });
    for (const graph of ["2-node", "60-node"] as const) {
      const on = stats.get(`checked/${graph}`)!;
      const off = stats.get(`unchecked/${graph}`)!;
      // Round by round (the same moment of the machine), the median of checked − unchecked.
      const a = samples.get(`checked/${graph}`)!;
      const b = samples.get(`unchecked/${graph}`)!;
      const paired = summarize(a.map((x, i) => x - b[i]!));
      const added = round2(on.p50_ms - off.p50_ms);
      print({
        phase: `${phase}_added`,
        graph,
        classes: CLASSES,
        added_p50_ms: added,
        added_p99_ms: round2(on.p99_ms - off.p99_ms),
        paired_median_ms: paired.p50_ms,
        target_p50_ms: TARGET_ADDED_P50_MS,
        within_target: added <= TARGET_ADDED_P50_MS,
      });
    }
    print({
      phase: `${phase}_ratio`,
      p50_ratio_60_vs_2_checked: round2(stats.get("checked/60-node")!.p50_ms / stats.get("checked/2-node")!.p50_ms),
      p50_ratio_60_vs_2_unchecked: round2(stats.get("unchecked/60-node")!.p50_ms / stats.get("unchecked/2-node")!.p50_ms),
    });
  };

  report("submit", await run(submit, 202));
  report("validate", await run(validate, 200));
} finally {
  for (const h of hosts) await h.stop().catch(() => {});
  await dev.stop();
}
