// Placement (issue 13.4): the Dispatcher hands a job only to a host whose catalog has every node
// class and model file it names; a job no live host can run waits and its view says why; fairness
// holds among the jobs a free host can run; model affinity prefers the host that holds the job's
// checkpoint, and passes a job over at most MODEL_AFFINITY_MAX_PASS_OVERS (3) times.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import txt2img from "../../examples/txt2img.json";
import recorded from "../../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json";
import { installClock } from "../support/clock.ts";
import { adminCall, call, createTenant, json, userHeaders } from "../support/worker-helpers.ts";
import {
  dispatcherPlace,
  dispatchesTo,
  eventFor,
  heartbeat,
  publishCatalog,
  registerFakeHost,
  sendEvent,
  type TestHost,
  useTestHosts,
  waitForDispatches,
} from "../support/worker-hosts.ts";

const { track } = useTestHosts();
const A = "model-a.safetensors";
const B = "model-b.safetensors";

/** Real ComfyUI 0.3.64's object_info with these checkpoints installed. */
function catalogWith(checkpoints: string[]) {
  const info = structuredClone((recorded as { json: Record<string, any> }).json);
  info.CheckpointLoaderSimple.input.required.ckpt_name[0] = checkpoints;
  return { object_info: info, models: { checkpoints: checkpoints.map((name) => ({ name, size: 2_000_000_000 })) } };
}

async function newPool(settings: Record<string, unknown> = {}): Promise<string> {
  const pool = `place-${crypto.randomUUID().slice(0, 8)}`;
  const res = await adminCall("/v1/admin/pools", json({ name: pool, ...settings }));
  if (res.status !== 201) throw new Error(`pool create: ${res.status}`);
  return pool;
}

/** A live host of `pool` (one GPU slot, no prefetch) whose catalog has `checkpoints`. */
async function hostWith(pool: string, id: string, checkpoints: string[]): Promise<TestHost> {
  const host = track(await registerFakeHost(1, id, pool));
  await goLive(host);
  const res = await publishCatalog(host, catalogWith(checkpoints));
  if (res.status !== 200) throw new Error(`catalog: ${res.status} ${await res.text()}`);
  return host;
}

async function goLive(host: TestHost): Promise<void> {
  const res = await heartbeat(host, { capacity: 1, free_slots: 1 });
  if (res.status !== 200) throw new Error(`heartbeat: ${res.status}`);
}

function graphFor(checkpoint: string, seed = 1): Record<string, any> {
  const wf = structuredClone(txt2img.workflow) as Record<string, any>;
  wf["4"].inputs.ckpt_name = checkpoint;
  wf["3"].inputs.seed = seed;
  return wf;
}

async function submitTo(key: string, pool: string, checkpoint: string, seed = 1): Promise<Record<string, any>> {
  const res = await call("/v1/jobs", json({ workflow: graphFor(checkpoint, seed), pool }, userHeaders(key, "u")));
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, any>;
}

const view = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { headers: userHeaders(key, "u") })).json()) as Record<string, any>;
const jobsOn = async (host: TestHost) => (await dispatchesTo(host)).map((d) => d.job_id);

describe("placement by catalog", () => {
  it("a job for a model only host 2 has waits for host 2 while host 1 is free, and its view says why", async ({ expect }) => {
    const pool = await newPool();
    const tag = crypto.randomUUID().slice(0, 6);
    const h1 = await hostWith(pool, `p-${tag}-1`, [A]);
    const h2 = await hostWith(pool, `p-${tag}-2`, [A, B]);
    const t = await createTenant({ limits: { max_active_jobs_per_user: 10 } });
    // Host 2 drains (a deploy): live, so the submit's check knows its catalog, but it takes no work.
    expect((await adminCall(`/v1/admin/hosts/${h2.id}/drain`, { method: "POST" })).status).toBe(200);

    // The B job has nowhere to go, though host 1 is idle.
    const b = await submitTo(t.key, pool, B);
    expect(b).toMatchObject({ status: "queued", waiting_for: { reason: "missing-on-every-host", models: [B], node_classes: [] } });
    expect(await dispatcherPlace(b.id, pool)).toBe("queued");
    expect(await dispatchesTo(h1)).toHaveLength(0);

    // An A job behind it starts at once on host 1: fairness among the jobs a free host can run.
    const a = await submitTo(t.key, pool, A);
    expect((await waitForDispatches(h1, 1)).map((d) => d.job_id)).toEqual([a.id]);
    expect((await view(t.key, b.id)).waiting_for).toMatchObject({ models: [B] });

    // Host 2 resumes: the B job goes there, not to host 1.
    expect((await adminCall(`/v1/admin/hosts/${h2.id}/resume`, { method: "POST" })).status).toBe(200);
    const [d] = await waitForDispatches(h2, 1);
    expect(d!.job_id).toBe(b.id);
    expect(await jobsOn(h1)).toEqual([a.id]);
    expect(await view(t.key, b.id)).toMatchObject({ status: "running", waiting_for: null });
  });

  it("waits for host 2 while it is busy rather than going to the free host without the model", async ({ expect }) => {
    const pool = await newPool();
    const tag = crypto.randomUUID().slice(0, 6);
    const h1 = await hostWith(pool, `p-${tag}-1`, [A]);
    const h2 = await hostWith(pool, `p-${tag}-2`, [A, B]);
    const t = await createTenant({ limits: { max_active_jobs_per_user: 10 } });

    const b1 = await submitTo(t.key, pool, B, 1);
    const [d1] = await waitForDispatches(h2, 1);
    expect(d1!.job_id).toBe(b1.id);
    // Host 2's only slot is taken: the next B job queues (it is not a missing model: no waiting_for).
    const b2 = await submitTo(t.key, pool, B, 2);
    expect(b2).toMatchObject({ status: "queued", waiting_for: null });
    expect(await dispatcherPlace(b2.id, pool)).toBe("queued");
    expect(await dispatchesTo(h1)).toHaveLength(0);

    // Host 2's GPU frees (ComfyUI is done, outputs upload): the B job follows there.
    await sendEvent(h2, eventFor(h2, d1!, "job.executed"));
    const [, d2] = await waitForDispatches(h2, 2);
    expect(d2!.job_id).toBe(b2.id);
    expect(await dispatchesTo(h1)).toHaveLength(0);
  });

  it("a pool without any live host says so in the job view", async ({ expect }) => {
    const pool = await newPool();
    const t = await createTenant();
    const j = await submitTo(t.key, pool, A);
    expect(j).toMatchObject({ status: "queued", queue_position: 0, waiting_for: { reason: "no-live-host" } });
  });
});

describe("estimated start", () => {
  it("is 0 with a free host, then the time until the hosts' work in hand and the queue ahead are done (src/dispatch/estimate.ts)", async ({ expect }) => {
    const pool = await newPool();
    const clock = await installClock(env.DISPATCHER.getByName(pool));
    const tag = crypto.randomUUID().slice(0, 6);
    const h1 = await hostWith(pool, `e-${tag}-1`, [A]);
    const t = await createTenant({ limits: { max_active_jobs_per_user: 10 } });
    const estimate = async () =>
      ((await (await call("/v1/workflows/validate", json({ workflow: graphFor(A), pool }, userHeaders(t.key, "u")))).json()) as Record<string, unknown>)
        .estimated_start_seconds;
    expect(await estimate()).toBe(0);

    // One job holds the GPU for 10 s: the pool's history.
    await submitTo(t.key, pool, A, 1);
    const [d1] = await waitForDispatches(h1, 1);
    // No history yet and the only slot taken: no estimate.
    expect(await estimate()).toBeNull();
    clock.advance(10_000);
    await sendEvent(h1, eventFor(h1, d1!, "job.executed"));
    await submitTo(t.key, pool, A, 2);
    await waitForDispatches(h1, 2);
    await submitTo(t.key, pool, A, 3);
    // The slot is taken (10 s left) and one job waits ahead (10 s more): this one starts in 20 s.
    expect(await estimate()).toBe(20);
  });

  it("counts ComfyUI's execution time, not the time since dispatch, also when a heartbeat released the GPU first", async ({ expect }) => {
    const pool = await newPool();
    const clock = await installClock(env.DISPATCHER.getByName(pool));
    const h1 = await hostWith(pool, `x-${crypto.randomUUID().slice(0, 6)}`, [A]);
    const t = await createTenant({ limits: { max_active_jobs_per_user: 10 } });
    await submitTo(t.key, pool, A, 1);
    const [d1] = await waitForDispatches(h1, 1);
    // 30 s after its dispatch (it waited on the host), the heartbeat says it is uploading...
    clock.advance(30_000);
    const ref = { job_id: d1!.job_id, attempt: d1!.attempt, lease_id: d1!.lease_id };
    expect((await heartbeat(h1, { capacity: 1, free_slots: 1, jobs: [{ ...ref, state: "uploading" }], sent_at: clock.now() })).status).toBe(200);
    // ...and job.executed, arriving after, says ComfyUI ran it for 5 s: that is what counts.
    await sendEvent(h1, eventFor(h1, d1!, "job.executed", { execution_ms: 5_000 }));
    await submitTo(t.key, pool, A, 2);
    await waitForDispatches(h1, 2);
    await submitTo(t.key, pool, A, 3);
    const estimate = (await (await call("/v1/workflows/validate", json({ workflow: graphFor(A), pool }, userHeaders(t.key, "u")))).json()) as Record<
      string,
      unknown
    >;
    // Job 2 holds the GPU (5 s), job 3 waits (5 s more): a new one starts in 10 s, not 60.
    expect(estimate.estimated_start_seconds).toBe(10);
  });
});

describe("needs kept by the Dispatcher", () => {
  it("a job's needs are its own after the needs of finished jobs were dropped and their ids reused", async ({ expect }) => {
    const pool = await newPool();
    const tag = crypto.randomUUID().slice(0, 6);
    const hA = await hostWith(pool, `n-${tag}-a`, [A]);
    const hB = await hostWith(pool, `n-${tag}-b`, [B]);
    const t = await createTenant({ limits: { max_active_jobs_per_user: 10 } });
    const first = await submitTo(t.key, pool, A, 1);
    const [d1] = await waitForDispatches(hA, 1);
    expect(d1!.job_id).toBe(first.id);
    await sendEvent(hA, eventFor(hA, d1!, "job.succeeded", { outputs: [] }));
    // The alarm's reconciliation drops the needs no job has any more (the first job's).
    await runDurableObjectAlarm(env.DISPATCHER.getByName(pool));
    // The next needs row may get the dropped id: the job needing B must still go to the host with B.
    const second = await submitTo(t.key, pool, B, 2);
    const [d2] = await waitForDispatches(hB, 1);
    expect(d2!.job_id).toBe(second.id);
    expect(await jobsOn(hA)).toEqual([first.id]);
  });
});

describe("a pool whose hosts fetch model files on demand", () => {
  it("takes a job for a checkpoint no host has yet and runs it on a host with every node class", async ({ expect }) => {
    const pool = await newPool({ model_files: "on_demand" });
    expect(await (await adminCall(`/v1/admin/pools/${pool}`)).json()).toMatchObject({ model_files: "on_demand" });
    const tag = crypto.randomUUID().slice(0, 6);
    const h1 = await hostWith(pool, `o-${tag}-1`, [A]);
    const t = await createTenant();
    const check = await call("/v1/workflows/validate", json({ workflow: graphFor(B), pool }, userHeaders(t.key, "u")));
    expect(await check.json()).toMatchObject({ valid: true, checked: true, eligible_hosts: 1 });
    const j = await submitTo(t.key, pool, B);
    const [d] = await waitForDispatches(h1, 1);
    expect(d!.job_id).toBe(j.id);

    // Back to required: the same workflow is refused, naming the file.
    const patched = await adminCall(`/v1/admin/pools/${pool}`, { ...json({ model_files: "required" }), method: "PATCH" });
    expect(await patched.json()).toMatchObject({ model_files: "required" });
    const refused = await call("/v1/jobs", json({ workflow: graphFor(B, 2), pool }, userHeaders(t.key, "u")));
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ models: [B] });
  });
});

describe("model affinity", () => {
  it("a free host takes jobs for the checkpoint it holds over the fair-next one, at most 3 times in a row", async ({ expect }) => {
    const pool = await newPool();
    const tag = crypto.randomUUID().slice(0, 6);
    const h1 = await hostWith(pool, `a-${tag}-1`, [A, B]);
    const h2 = await hostWith(pool, `a-${tag}-2`, [A, B]);
    const t = await createTenant({ limits: { max_active_jobs_per_user: 20 } });

    // Warm up: an A job lands on host 1 (lowest id), then a B job on host 2 (host 1 is full).
    const a0 = await submitTo(t.key, pool, A, 100);
    const [d0] = await waitForDispatches(h1, 1);
    const b0 = await submitTo(t.key, pool, B, 200);
    await waitForDispatches(h2, 1);
    expect(await jobsOn(h1)).toEqual([a0.id]);
    expect(await jobsOn(h2)).toEqual([b0.id]);

    // Both busy. The queue: an old B job, then five A jobs.
    const old = await submitTo(t.key, pool, B, 1);
    const as: string[] = [];
    for (let i = 0; i < 5; i++) as.push((await submitTo(t.key, pool, A, 10 + i)).id);

    // Host 1 (holding A) frees four times. The fair-next job is the old B job, which host 2 holds
    // the checkpoint for: host 1 passes it over three times for A jobs, then must take it.
    let last = d0!;
    for (let round = 1; round <= 4; round++) {
      await sendEvent(h1, eventFor(h1, last, "job.executed"));
      const got = await waitForDispatches(h1, round + 1);
      last = got[round]!;
    }
    expect(await jobsOn(h1)).toEqual([a0.id, as[0], as[1], as[2], old.id]);
    expect(await jobsOn(h2)).toEqual([b0.id]);
    expect(await dispatcherPlace(as[3]!, pool)).toBe("queued");
  });

  it("a job that no other host holds warm is not passed over", async ({ expect }) => {
    const pool = await newPool();
    const tag = crypto.randomUUID().slice(0, 6);
    const h1 = await hostWith(pool, `n-${tag}-1`, [A, B]);
    const t = await createTenant({ limits: { max_active_jobs_per_user: 20 } });
    const a0 = await submitTo(t.key, pool, A, 100);
    const [d0] = await waitForDispatches(h1, 1);
    // With one host there is nowhere warmer to wait for: FIFO, whatever host 1 holds.
    const b = await submitTo(t.key, pool, B, 1);
    const a1 = await submitTo(t.key, pool, A, 2);
    await sendEvent(h1, eventFor(h1, d0!, "job.executed"));
    await waitForDispatches(h1, 2);
    expect(await jobsOn(h1)).toEqual([a0.id, b.id]);
    expect(await dispatcherPlace(a1.id, pool)).toBe("queued");
  });
});
