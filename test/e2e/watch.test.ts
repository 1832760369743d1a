// End to end (issue 15): watching a job on the real stack (wrangler dev, a gpu-backend, a ComfyUI
// emulator making sampler previews). A txt2img job's event stream goes from job.queued to
// job.succeeded with the sampler's progress (node_type, overall percent) and previews in between;
// a reconnect with Last-Event-ID loses and repeats nothing; with previews off for the pool none
// are sent; `Prefer: wait` returns a fast job finished and a slow one still live.
import { afterAll, beforeAll, describe, it } from "vitest";
import txt2img from "../../examples/txt2img.json" with { type: "json" };
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { type SseEvent, SseReader } from "../support/sse-reader.ts";
import { Client, EMPTY_TO_SAVE, type Tenant } from "./support/client.ts";

let stack: LocalStack;
let api: Client;
let t: Tenant;

beforeAll(async () => {
  stack = await startLocalStack({ hosts: 1, emulatorArgs: ["--preview-method", "auto", "--step-ms", "20"] });
  api = new Client(stack);
  t = await api.tenant({ max_active_jobs_per_user: 20 });
});
afterAll(async () => {
  await stack?.stop();
});

let seed = 0;
function sampler(steps: number): Record<string, any> {
  const wf = structuredClone(txt2img.workflow) as Record<string, any>;
  wf["3"].inputs.steps = steps;
  wf["3"].inputs.seed = ++seed + Date.now();
  return wf;
}

async function open(id: string, lastEventId?: number): Promise<SseReader> {
  const headers = { ...api.headers(t, "watcher"), ...(lastEventId !== undefined ? { "Last-Event-ID": String(lastEventId) } : {}) };
  const res = await fetch(`${stack.edge.url}/v1/jobs/${id}/events`, { headers });
  if (res.status !== 200) throw new Error(`events: ${res.status} ${await res.text()}`);
  return new SseReader(res.body!);
}

const setPreviews = async (on: boolean) => {
  const res = await stack.admin("/v1/admin/pools/default", { method: "PATCH", body: JSON.stringify({ previews: on }) });
  if (res.status !== 200) throw new Error(`pool: ${res.status} ${await res.text()}`);
};

const kinds = (events: SseEvent[]) => events.map((e) => e.event).filter((k, i, all) => k !== all[i - 1]);

describe("a job's event stream on the real stack", () => {
  it("follows a txt2img job with progress and previews, and a reconnect loses and repeats nothing", async ({ expect }) => {
    const job = await api.submitOk(t, "watcher", sampler(150));
    const full = await open(job.id);
    const partial = await open(job.id);
    const head = await partial.until("job.progress");
    head.push(...(await partial.until("job.progress")));
    await partial.close();

    // The latest frame is served while the sampler runs.
    const upToPreview = await full.until("job.preview");
    const preview = await fetch(upToPreview.at(-1)!.data.url);
    expect(preview.status).toBe(200);
    expect(preview.headers.get("Content-Type")).toBe("image/jpeg");
    expect(new Uint8Array(await preview.arrayBuffer()).subarray(0, 3)).toEqual(new Uint8Array([0xff, 0xd8, 0xff]));

    const resumed = await open(job.id, head.at(-1)!.id);
    const events = [...upToPreview, ...(await full.rest())];
    const tail = await resumed.rest();
    expect([...head, ...tail].map((e) => e.id)).toEqual(events.map((e) => e.id));

    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(kinds(events).slice(0, 2)).toEqual(["job.queued", "job.running"]);
    expect(events.at(-1)).toMatchObject({ event: "job.succeeded", data: { status: "succeeded", attempt: 1 } });
    expect(events.filter((e) => e.event === "job.output").map((e) => e.data.content_type)).toEqual(["image/png"]);
    const progress = events.filter((e) => e.event === "job.progress").map((e) => e.data);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.every((p) => p.node === "3" && p.node_type === "KSampler" && p.attempt === 1)).toBe(true);
    const percents = progress.map((p) => p.percent as number);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.every((p) => p > 0 && p < 100)).toBe(true);
    expect(events.some((e) => e.event === "job.preview")).toBe(true);
    // Previews are only for the running job; once it ended, there is none.
    expect((await fetch(`${stack.edge.url}/v1/jobs/${job.id}/preview`, { headers: api.headers(t, "watcher") })).status).toBe(404);
  });

  it("carries no previews in a pool with them off", async ({ expect }) => {
    await setPreviews(false);
    try {
      const job = await api.submitOk(t, "watcher", sampler(40));
      const events = await (await open(job.id)).rest();
      expect(events.at(-1)!.event).toBe("job.succeeded");
      expect(events.filter((e) => e.event === "job.progress").length).toBeGreaterThan(0);
      expect(events.filter((e) => e.event === "job.preview")).toEqual([]);
    } finally {
      await setPreviews(true);
    }
  });

  it("ends with job.cancelled when a running job is cancelled", async ({ expect }) => {
    const job = await api.submitOk(t, "watcher", sampler(400));
    const stream = await open(job.id);
    await stream.until("job.progress");
    expect((await api.cancel(t, "watcher", job.id)).status).toBe(200);
    const events = await stream.rest();
    expect(events.at(-1)).toMatchObject({ event: "job.cancelled", data: { status: "cancelled" } });
  });
});

describe("Prefer: wait on the real stack", () => {
  it("returns a fast job finished, and a slow one as it stands when the wait is over", async ({ expect }) => {
    const fast = await fetch(`${stack.edge.url}/v1/jobs`, {
      method: "POST",
      headers: { ...api.headers(t, "waiter"), Prefer: "wait=60" },
      body: JSON.stringify({ workflow: EMPTY_TO_SAVE(64, 64, Date.now() % 255) }),
    });
    expect(fast.status).toBe(200);
    expect(fast.headers.get("Preference-Applied")).toBe("wait=60");
    const done = (await fast.json()) as Record<string, any>;
    expect(done).toMatchObject({ status: "succeeded", outputs: [{ content_type: "image/png" }] });

    const slow = await fetch(`${stack.edge.url}/v1/jobs`, {
      method: "POST",
      headers: { ...api.headers(t, "waiter"), Prefer: "wait=1" },
      body: JSON.stringify({ workflow: sampler(400) }),
    });
    expect(slow.status).toBe(202);
    expect(slow.headers.get("Preference-Applied")).toBeNull();
    const live = (await slow.json()) as Record<string, any>;
    expect(["queued", "running"]).toContain(live.status);
    await api.cancel(t, "waiter", live.id);
  });
});
