// Benchmark (issue 13, item 3): the cost of pre-flight at submit. preflight() on a 2-node and a
// 60-node graph against the recorded object_info of ComfyUI 0.3.64 (383 classes), with model
// files injected so both graphs are valid (the success path walks every input). The budget is
// ≤ 3 ms p50. The first call compiles the catalog (cached per catalog object) and is reported
// on its own line. Prints JSON lines.
import { readFileSync } from "node:fs";
import type { Catalog } from "../src/workflows/catalog.ts";
import { preflight } from "../src/workflows/preflight.ts";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const CKPT = "model.safetensors";

type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

const recorded = JSON.parse(readFileSync(new URL("../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json", import.meta.url), "utf8")) as {
  json: Record<string, { input: { required: Record<string, unknown[]> } }>;
};
const raw = recorded.json;
raw.CheckpointLoaderSimple!.input.required.ckpt_name![0] = Array.from({ length: 40 }, (_, i) => `other-${i}.safetensors`).concat(CKPT);
const catalog = raw as unknown as Catalog;

const small: Workflow = {
  "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "bench" } },
};

/** A checkpoint shared by 9 txt2img branches (prompts, latent, sampler, decode, save), and 5 inverts before the last save. */
function large(): Workflow {
  const g: Workflow = { "1": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: CKPT } } };
  let n = 2;
  let lastDecode = "";
  let lastSave = "";
  for (let b = 0; b < 9; b++) {
    const [pos, neg, lat, ks, dec, save] = [n, n + 1, n + 2, n + 3, n + 4, n + 5].map(String) as [string, string, string, string, string, string];
    n += 6;
    g[pos] = { class_type: "CLIPTextEncode", inputs: { text: `branch ${b}`, clip: ["1", 1] } };
    g[neg] = { class_type: "CLIPTextEncode", inputs: { text: "blurry", clip: ["1", 1] } };
    g[lat] = { class_type: "EmptyLatentImage", inputs: { width: 512, height: 512, batch_size: 1 } };
    g[ks] = {
      class_type: "KSampler",
      inputs: {
        model: ["1", 0],
        seed: b,
        steps: 20,
        cfg: 7.5,
        sampler_name: "dpmpp_2m",
        scheduler: "karras",
        positive: [pos, 0],
        negative: [neg, 0],
        latent_image: [lat, 0],
        denoise: 1,
      },
    };
    g[dec] = { class_type: "VAEDecode", inputs: { samples: [ks, 0], vae: ["1", 2] } };
    g[save] = { class_type: "SaveImage", inputs: { images: [dec, 0], filename_prefix: `b${b}` } };
    lastDecode = dec;
    lastSave = save;
  }
  let image = lastDecode;
  for (let i = 0; i < 5; i++) {
    const id = String(n++);
    g[id] = { class_type: "ImageInvert", inputs: { image: [image, 0] } };
    image = id;
  }
  g[lastSave]!.inputs.images = [image, 0];
  return g;
}

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
preflight(small, catalog);
console.log(JSON.stringify({ bench: "preflight", first_call_with_catalog_compile_us: Math.round((performance.now() - t0) * 1000) }));

const a = measure("2-node", small);
const b = measure("60-node", large());
console.log(
  JSON.stringify({
    bench: "preflight",
    ratio_p50_60_vs_2: Math.round((b.p50_us / a.p50_us) * 100) / 100,
    budget_p50_us: 3000,
    within_budget: b.p50_us <= 3000,
  }),
);
