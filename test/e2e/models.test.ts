// End to end (issue 14): a LoRA registered with the edge reaches a GPU host on demand. The
// gpu-backend downloads it under the job's lease, verifies size and SHA-256 while it streams, and
// links it into ComfyUI's loras folder; the job runs with it. A byte flipped in transit (a proxy
// between the hosts and the edge) fails that attempt, the job is retried and succeeds, and the bad
// bytes never appear in the model folder. Two jobs needing the same new file make one download. A
// file the pool pins is fetched ahead of any job.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import lora from "../../examples/lora.json" with { type: "json" };
import { fakeModelBytes } from "../../gpu-backend/emulator/models/safetensors.ts";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { type FlippingProxy, startFlippingProxy } from "../support/node/flipping-proxy.ts";
import { Client } from "./support/client.ts";

let stack: LocalStack;
let api: Client;
let proxy: FlippingProxy;

beforeAll(async () => {
  proxy = await startFlippingProxy();
  stack = await startLocalStack({
    hosts: 1,
    hostEdgeUrl: (edgeUrl) => {
      proxy.target(edgeUrl);
      return proxy.url;
    },
  });
  api = new Client(stack);
  // The pool's hosts fetch model files on demand (no host has the LoRAs below before a job needs them).
  const res = await stack.admin("/v1/admin/pools/default", { method: "PATCH", body: JSON.stringify({ model_files: "on_demand" }) });
  if (res.status !== 200) throw new Error(`pool: ${res.status} ${await res.text()}`);
});
afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
});

/** A LoRA-shaped file (the emulator reads its header), registered, uploaded and verified. */
async function registeredLora(name: string): Promise<{ bytes: Buffer; sha256: string; id: string }> {
  const bytes = fakeModelBytes({ architecture: "stable-diffusion-v1/lora", sizeBytes: 37_861_176, metadata: { tag: name } });
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const reg = await stack.admin("/v1/admin/models", { method: "POST", body: JSON.stringify({ folder: "loras", name, sha256, size: bytes.length }) });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const model = (await reg.json()) as { id: string };
  const part = await stack.admin(`/v1/admin/models/${model.id}/parts/1`, {
    method: "PUT",
    body: bytes,
    headers: { "Content-Type": "application/octet-stream" },
  });
  if (part.status !== 200) throw new Error(`part: ${part.status} ${await part.text()}`);
  await stack.admin(`/v1/admin/models/${model.id}/complete`, { method: "POST" });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = ((await (await stack.admin(`/v1/admin/models/${model.id}`)).json()) as { state: string }).state;
    if (state === "ready") return { bytes, sha256, id: model.id };
    if (state === "failed" || Date.now() > deadline) throw new Error(`model ${name} is ${state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function workflowWith(loraName: string, seed: number): Record<string, unknown> {
  const wf = structuredClone(lora.workflow) as Record<string, { inputs: Record<string, unknown> }>;
  wf["10"]!.inputs.lora_name = loraName;
  wf["3"]!.inputs.seed = seed;
  return wf;
}

const lorasDir = () => join(stack.hosts[0]!.emulator.baseDir, "models", "loras");

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.hosts[0]!.port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) if (line.startsWith(name)) sum += Number(line.split(" ").at(-1));
  return sum;
}

describe("model files on demand", () => {
  it("a registered LoRA is fetched, verified, linked into ComfyUI's folder and used", async ({ expect }) => {
    const name = `e2e-detail-${Date.now()}.safetensors`;
    const { bytes, sha256 } = await registeredLora(name);
    expect(existsSync(join(lorasDir(), name))).toBe(false);
    const t = await api.tenant();
    const job = await api.submitOk(t, "u", workflowWith(name, 1));
    const done = await api.waitForEnd(t, "u", job.id, 60_000);
    expect(done).toMatchObject({ status: "succeeded", attempt: 1 });
    const placed = join(lorasDir(), name);
    expect(lstatSync(placed).isSymbolicLink()).toBe(true);
    expect(createHash("sha256").update(readFileSync(placed)).digest("hex")).toBe(sha256);
    expect(await metric("gpu_backend_model_cache_fetched_bytes_total")).toBeGreaterThanOrEqual(bytes.length);
    // Every phase the host measured is there (the values depend on the machine, their presence does not).
    for (const key of ["queued_ms", "model_fetch_ms", "input_fetch_ms", "execution_ms", "upload_ms", "total_ms"]) {
      expect(typeof done.timings?.[key]).toBe("number");
    }
    // Again: the file is in the host's cache, so the job waits for nothing.
    const again = await api.waitForEnd(t, "u", (await api.submitOk(t, "u", workflowWith(name, 11))).id, 60_000);
    expect(again).toMatchObject({ status: "succeeded", timings: { model_fetch_ms: 0 } });
  });

  it("a byte flipped in transit fails that attempt; the retry succeeds and the bad bytes never appear", async ({ expect }) => {
    const name = `e2e-flip-${Date.now()}.safetensors`;
    const { sha256 } = await registeredLora(name);
    const failedBefore = await metric("gpu_backend_model_cache_failed_fetches_total");
    proxy.flipNext(new RegExp(`/models/${sha256}$`));
    const t = await api.tenant();
    const job = await api.submitOk(t, "u", workflowWith(name, 2));
    const done = await api.waitForEnd(t, "u", job.id, 60_000);
    expect(proxy.flipped).toHaveLength(1);
    expect(done).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(await metric("gpu_backend_model_cache_failed_fetches_total")).toBe(failedBefore + 1);
    // What ComfyUI sees under the name is the registered file, and no partial file is left beside it.
    expect(
      createHash("sha256")
        .update(readFileSync(join(lorasDir(), name)))
        .digest("hex"),
    ).toBe(sha256);
    expect(readdirSync(lorasDir()).filter((f) => f.includes("e2e-flip") && f !== name)).toEqual([]);
  });

  it("two jobs needing the same new file on one host make one download", async ({ expect }) => {
    const name = `e2e-shared-${Date.now()}.safetensors`;
    const { bytes } = await registeredLora(name);
    const before = await metric("gpu_backend_model_cache_fetched_bytes_total");
    const t = await api.tenant();
    const jobs = await Promise.all([api.submitOk(t, "u", workflowWith(name, 3)), api.submitOk(t, "u", workflowWith(name, 4))]);
    const ended = await api.waitForAllEnded(
      t,
      "u",
      jobs.map((j) => j.id),
      60_000,
    );
    // Status and error together, so a failure says why.
    expect([...ended.values()].map((j) => ({ status: j.status, error: j.error }))).toEqual([
      { status: "succeeded", error: null },
      { status: "succeeded", error: null },
    ]);
    expect((await metric("gpu_backend_model_cache_fetched_bytes_total")) - before).toBe(bytes.length);
  });

  it("a file the pool pins is fetched by its host ahead of any job", async ({ expect }) => {
    const name = `e2e-pinned-${Date.now()}.safetensors`;
    const { sha256, id } = await registeredLora(name);
    const pin = (ids: string[]) => stack.admin("/v1/admin/pools/default", { method: "PATCH", body: JSON.stringify({ pinned_models: ids }) });
    expect((await pin([id])).status).toBe(200);
    try {
      // Heartbeats (every second) bring the list; the host downloads and links it (bounded wait).
      const placed = join(lorasDir(), name);
      const deadline = Date.now() + 40_000;
      while (!existsSync(placed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(lstatSync(placed).isSymbolicLink()).toBe(true);
      expect(createHash("sha256").update(readFileSync(placed)).digest("hex")).toBe(sha256);
    } finally {
      await pin([]);
    }
  });
});
