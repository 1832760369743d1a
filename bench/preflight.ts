// Benchmark (issue 13, item 3): the cost of pre-flight at submit. preflight() on a 2-node and a
// 60-node graph against the recorded object_info of ComfyUI 0.3.64 (383 classes), with model
// files injected so both graphs are valid (the success path walks every input). The budget is
// ≤ 3 ms p50. The first call compiles the catalog (cached per catalog object) and is reported
// on its own line. Prints JSON lines.
import type { Catalog } from "../src/workflows/catalog.ts";
import { preflight } from "../src/workflows/preflight.ts";
import { largeGraph, recordedObjectInfo, SMALL, type Workflow } from "./lib/preflight-fixtures.ts";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);

const catalog = recordedObjectInfo() as unknown as Catalog;
function measure(name: string, workflow: Workflow) {
  const check = preflight(workflow, catalog);
  if (!check.valid) throw new Error(`${name} graph is not valid: ${JSON.stringify(check.errors)}`);
  for (let i = 0; i < 200; i++) preflight(workflow, catalog); // warm-up (JIT)
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    preflight(workflow, catalog);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)]!;
  const us = (ms: number) => Math.round(ms * 1000 * 10) / 10;
  const out = {
    bench: "preflight",
    graph: name,
    nodes: Object.keys(workflow).length,
    classes: Object.keys(catalog).length,
    n: ITERATIONS,
    p50_us: us(at(50)),
    p99_us: us(at(99)),
  };
  console.log(JSON.stringify(out));
  return out;
}

const t0 = performance.now();
preflight(SMALL, catalog);
console.log(JSON.stringify({ bench: "preflight", first_call_with_catalog_compile_us: Math.round((performance.now() - t0) * 1000) }));

const a = measure("2-node", SMALL);
const b = measure("60-node", largeGraph());
console.log(
  JSON.stringify({
    bench: "preflight",
    ratio_p50_60_vs_2: Math.round((b.p50_us / a.p50_us) * 100) / 100,
    budget_p50_us: 3000,
    within_budget: b.p50_us <= 3000,
  }),
);
