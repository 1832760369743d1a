// End to end on real processes: wrangler dev, two gpu-backends, two ComfyUI emulators. Jobs run,
// outputs download, many tenants share the pool fairly, cancels and ComfyUI's own errors surface,
// and every admission slot is freed at the end.
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { ROOT } from "../../scripts/lib/wrangler-dev.ts";
import { Client, EMPTY_TO_SAVE, pngSize, SLOW, type Tenant } from "./support/client.ts";
import { solidPng } from "./support/png.ts";

let stack: LocalStack;
let api: Client;
let images: http.Server;
const tenants: Tenant[] = [];

const png = (width: number, height: number) => solidPng(width, height, 0x40);

beforeAll(async () => {
  // Stands in for a user's image server; reachable only because it is allow-listed (dev/test).
  images = http.createServer((req, res) => {
    if (req.url === "/photo.png") res.writeHead(200, { "content-type": "image/png" }).end(png(48, 40));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => images.listen(0, "127.0.0.1", r));
  const imagePort = (images.address() as AddressInfo).port;
  stack = await startLocalStack({ hosts: 2, emulatorArgs: ["--step-ms", "20"], allowHosts: [`127.0.0.1:${imagePort}`] });
  api = new Client(stack);
});
afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((r) => images?.close(() => r()));
});

const invert = (image: string) => ({
  "1": { class_type: "LoadImage", inputs: { image } },
  "2": { class_type: "ImageInvert", inputs: { image: ["1", 0] } },
  "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "inverted" } },
});

async function tenant(limits: Record<string, number> = {}) {
  const t = await api.tenant(limits);
  tenants.push(t);
  return t;
}

/** Long enough never to end by itself during a test: every blocker is cancelled by its test. */
/**
 * Five minutes of sampling: every blocker is cancelled by its test, and one that could end first
 * on a loaded machine (it ran 30 s before) made a "cancelled" assertion see "succeeded".
 */
const BLOCKER = () => SLOW(6000, 50);

const freeSlots = async () =>
  ((await (await stack.admin("/health")).json()) as { components: { pools: { default: { free_slots: number } } } }).components.pools.default.free_slots;

/**
 * Takes every slot of every host (running + prepared ahead) with blockers of `t`/`user`, each
 * dispatched, so anything submitted next stays queued until the test cancels a blocker.
 */
async function fillEverySlot(t: Tenant, user: string): Promise<Array<{ id: string }>> {
  const blockers: Array<{ id: string }> = [];
  for (let round = 0; round < 10; round++) {
    const free = await freeSlots();
    if (free === 0 && blockers.length > 0) return blockers;
    const more = await Promise.all(Array.from({ length: Math.max(free, 1) }, () => api.submitOk(t, user, BLOCKER())));
    blockers.push(...more);
    for (const b of more) {
      const j = await api.waitFor(t, user, b.id, (j) => j.status !== "queued");
      if (j.status !== "running") throw new Error(`blocker ${b.id} is ${j.status}`);
    }
  }
  throw new Error("the hosts never ran out of free slots");
}

async function cancelAll(t: Tenant, user: string, jobs: Array<{ id: string }>): Promise<void> {
  for (const j of jobs) await api.cancel(t, user, j.id);
  for (const j of jobs) {
    const end = await api.waitForEnd(t, user, j.id);
    if (end.status !== "cancelled") throw new Error(`blocker ${j.id} ended ${end.status}, not cancelled`);
  }
}

describe("the workflows in examples/, posted as they are", () => {
  const example = (name: string) => JSON.parse(readFileSync(`${ROOT}examples/${name}`, "utf8")) as { workflow: unknown };

  it.for([
    ["txt2img.json", [512, 512]],
    ["img2img.json", [512, 512]],
    ["lora.json", [512, 512]],
    ["upscale.json", [1024, 1024]],
  ] as const)("%s runs on the dev models and gives a %j PNG", async ([name, size], { expect }) => {
    const t = await tenant();
    const job = await api.submitOk(t, "alice", example(name).workflow);
    const done = await api.waitForEnd(t, "alice", job.id);
    expect(done).toMatchObject({ status: "succeeded", error: null });
    expect(done.outputs).toHaveLength(1);
    const res = await fetch(done.outputs[0].url);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(pngSize(new Uint8Array(await res.arrayBuffer()))).toEqual(size);
  });
});

describe("jobs on two GPU hosts", () => {
  it("a job succeeds and its PNG downloads with the requested dimensions", async ({ expect }) => {
    const t = await tenant();
    const job = await api.submitOk(t, "alice", EMPTY_TO_SAVE(320, 200, 0xff0000, "dims"));
    const done = await api.waitForEnd(t, "alice", job.id);
    expect(done).toMatchObject({ status: "succeeded", attempt: 1, error: null });
    expect(done.outputs).toHaveLength(1);
    const res = await fetch(done.outputs[0].url);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(pngSize(new Uint8Array(await res.arrayBuffer()))).toEqual([320, 200]);
  });

  it("60 jobs from 6 tenants all succeed, and no tenant waits behind another's backlog", async ({ expect }) => {
    const ts = await Promise.all(Array.from({ length: 6 }, () => tenant({ max_active_jobs_per_user: 30, max_active_jobs_per_tenant: 30 })));
    // Every slot is held while tenant 0 queues a backlog of 30 and the five others then queue 6
    // each, so all 60 wait in the queue when dispatch resumes. Fair dispatch means every other
    // tenant's first job starts long before tenant 0's backlog is through.
    const gate = await tenant({ max_active_jobs_per_user: 20, max_active_jobs_per_tenant: 20 });
    const blockers = await fillEverySlot(gate, "blocker");
    const submitted: { t: Tenant; id: string; i: number }[] = [];
    const backlog = await Promise.all(Array.from({ length: 30 }, async () => ({ t: ts[0]!, id: (await api.submitOk(ts[0]!, "u", SLOW(5, 40))).id, i: 0 })));
    submitted.push(...backlog);
    const rest = await Promise.all(
      ts.slice(1).flatMap((t, k) => Array.from({ length: 6 }, async () => ({ t, id: (await api.submitOk(t, "u", SLOW(5, 40))).id, i: k + 1 }))),
    );
    submitted.push(...rest);
    await cancelAll(gate, "blocker", blockers);
    const byTenant = await Promise.all(
      ts.map((t) =>
        api.waitForAllEnded(
          t,
          "u",
          submitted.filter((s) => s.t === t).map((s) => s.id),
        ),
      ),
    );
    const ends = submitted.map((s) => ({ ...s, job: byTenant[ts.indexOf(s.t)]!.get(s.id)! }));
    expect(ends.filter((e) => e.job.status === "succeeded")).toHaveLength(60);
    const started = (k: number) =>
      ends
        .filter((e) => e.i === k)
        .map((e) => Date.parse(e.job.started_at))
        .sort((a, b) => a - b);
    const backlogHalf = started(0)[14]!;
    for (let k = 1; k < 6; k++) expect(started(k)[0]!, `tenant ${k}'s first job`).toBeLessThan(backlogHalf);
  });

  it("cancels a queued job at once and a running job once its host stops it", async ({ expect }) => {
    const t = await tenant({ max_active_jobs_per_user: 20 });
    const blockers = await fillEverySlot(t, "blocker");
    const queued = await api.submitOk(t, "c", EMPTY_TO_SAVE());
    expect(queued.status).toBe("queued");
    const cancelQueued = await api.cancel(t, "c", queued.id);
    expect(await cancelQueued.json()).toMatchObject({ status: "cancelled" });

    const running = await api.waitFor(t, "blocker", blockers[0]!.id, (j) => j.status === "running" && (j.progress?.value ?? 0) > 0);
    expect(running.status).toBe("running");
    const res = (await (await api.cancel(t, "blocker", running.id)).json()) as Record<string, unknown>;
    expect(res).toMatchObject({ status: "running", cancel_requested_at: expect.any(String) });
    expect(await api.waitForEnd(t, "blocker", running.id)).toMatchObject({ status: "cancelled" });
    await cancelAll(t, "blocker", blockers.slice(1));
  });

  it("refuses at submit what ComfyUI would refuse, with its own error type, and reports an execution error", async ({ expect }) => {
    const t = await tenant();
    // The hosts' published catalogs say width must be ≥ 1: refused before it costs a slot or a GPU second.
    const bad = await api.submit(t, "v", {
      "1": { class_type: "EmptyImage", inputs: { width: 0, height: 64, batch_size: 1, color: 0 } },
      "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "bad" } },
    });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({
      type: "https://comfyui-saas.dev/problems/invalid-workflow",
      errors: [{ pointer: "/workflow/1/inputs/width", code: "value_smaller_than_min" }],
    });

    const boom = await api.submitOk(t, "v", {
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      "2": { class_type: "RaiseErrorEmu", inputs: { image: ["1", 0], message: "boom", exception_type: "ValueError" } },
      "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "x" } },
    });
    const err = await api.waitForEnd(t, "v", boom.id);
    expect(err).toMatchObject({ status: "failed", attempt: 1, error: { code: "execution_error" } });
    expect(JSON.stringify(err.error)).toMatch(/ValueError/);
  });

  it.for([
    ["a data: URI", () => `data:image/png;base64,${png(30, 20).toString("base64")}`, [30, 20]],
    ["a URL on an allow-listed server", () => `http://127.0.0.1:${(images.address() as AddressInfo).port}/photo.png`, [48, 40]],
  ] as const)("runs a workflow whose input image is %s", async ([, image, dims], { expect }) => {
    const t = await tenant();
    const job = await api.submitOk(t, "alice", invert(image()));
    const done = await api.waitForEnd(t, "alice", job.id);
    expect(done).toMatchObject({ status: "succeeded" });
    const out = new Uint8Array(await (await fetch(done.outputs[0].url)).arrayBuffer());
    expect(pngSize(out)).toEqual(dims);
  });

  it("refuses an unsafe input URL before anything runs", async ({ expect }) => {
    const t = await tenant();
    const res = await api.submit(t, "alice", invert("http://169.254.169.254/latest/meta-data/iam"));
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ type: "https://comfyui-saas.dev/problems/unsafe-source-url", reason: "private-address" });
  });

  it("ends with every admission slot free", async ({ expect }) => {
    for (const t of tenants) {
      for (const user of ["alice", "u", "c", "blocker", "v"]) {
        const usage = await api.usage(t, user);
        expect(usage.user_active_jobs, `${t.id}/${user}`).toBe(0);
      }
      expect((await api.usage(t, "alice")).tenant_active_jobs).toBe(0);
    }
  });
});
