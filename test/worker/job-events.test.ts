// Watching a job (issue 15) inside workerd: the event stream, resuming with Last-Event-ID, fan-out
// to several streams, ownership, cancellation, positions, `Prefer: wait` and previews; a fake GPU
// host plays the host's side of the protocol.
import { describe, it } from "vitest";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import type { DispatchRef } from "../../src/protocol/messages.ts";
import { SseReader } from "../support/sse-reader.ts";
import { adminCall, call, createTenant, expectProblem, json, submit, submitOk, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";
import {
  eventFor,
  heartbeat,
  outputDescriptor,
  registerFakeHost,
  sendEvent,
  type TestHost,
  uploadOutput,
  uploadPreview,
  useTestHosts,
  waitForDispatches,
} from "../support/worker-hosts.ts";

const { liveHost, track } = useTestHosts();

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 9, 9]);

async function cancel(key: string, user: string, id: string): Promise<void> {
  const res = await call(`/v1/jobs/${id}`, { method: "DELETE", headers: userHeaders(key, user) });
  if (res.status !== 200) throw new Error(`cancel: ${res.status}`);
}

async function openStream(key: string, user: string, id: string, lastEventId?: number): Promise<SseReader> {
  const res = await call(`/v1/jobs/${id}/events`, {
    headers: { ...userHeaders(key, user), ...(lastEventId !== undefined ? { "Last-Event-ID": String(lastEventId) } : {}) },
  });
  if (res.status !== 200) throw new Error(`events: ${res.status} ${await res.text()}`);
  if (!res.headers.get("Content-Type")?.startsWith("text/event-stream")) throw new Error(`events: ${res.headers.get("Content-Type")}`);
  return new SseReader(res.body!);
}

/** Runs a dispatched job to success the way a host does: progress, an output, success. */
async function runToSuccess(host: TestHost, d: DispatchRef): Promise<void> {
  await sendEvent(host, eventFor(host, d, "job.started", { prompt_id: "p" }));
  await sendEvent(host, eventFor(host, d, "job.progress", { progress: { value: 5, max: 10, node: "1", node_type: "EmptyImage", percent: 25 } }));
  await sendEvent(host, eventFor(host, d, "job.executed", { execution_ms: 1200 }));
  if ((await uploadOutput(host, d, "out.png", PNG)).status !== 201) throw new Error("upload failed");
  const done = await sendEvent(host, eventFor(host, d, "job.succeeded", { outputs: [outputDescriptor("out.png", PNG, toHex(await sha256(PNG)))] }));
  if (done.status !== 200) throw new Error(`succeeded: ${done.status}`);
}

describe("GET /v1/jobs/{id}/events", () => {
  it("follows a job from queued to succeeded, every event in order, and ends", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "alice");
    const stream = await openStream(t.key, "alice", job.id);
    const [d] = await waitForDispatches(host, 1);
    await sendEvent(host, eventFor(host, d!, "job.started", { prompt_id: "p" }));
    await sendEvent(host, eventFor(host, d!, "job.progress", { progress: { value: 5, max: 10, node: "1", node_type: "EmptyImage", percent: 25 } }));
    // Lower than before, and a class the workflow does not have: kept at 25, node_type dropped.
    await sendEvent(host, eventFor(host, d!, "job.progress", { progress: { value: 6, max: 10, node: "1", node_type: "Evil", percent: 20 } }));
    await sendEvent(host, eventFor(host, d!, "job.executed", { execution_ms: 1200 }));
    expect((await uploadOutput(host, d!, "out.png", PNG)).status).toBe(201);
    await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [outputDescriptor("out.png", PNG, toHex(await sha256(PNG)))] }));

    const events = await stream.rest();
    expect(events.map((e) => e.event)).toEqual(["job.queued", "job.running", "job.progress", "job.progress", "job.output", "job.succeeded"]);
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(events[0]!.data).toMatchObject({ status: "queued", attempt: 0, reason: "submitted", at: job.created_at });
    expect(events[1]!.data).toMatchObject({ status: "running", attempt: 1 });
    expect(events[2]!.data).toMatchObject({ attempt: 1, node: "1", node_type: "EmptyImage", value: 5, max: 10, percent: 25 });
    expect(events[3]!.data).toMatchObject({ node_type: null, value: 6, percent: 25 });
    expect(events[4]!.data).toMatchObject({ attempt: 1, name: "out.png", content_type: "image/png", size: PNG.length, kind: "images" });
    const done = events[5]!.data;
    expect(done).toMatchObject({ status: "succeeded", attempt: 1, error: null, timings: { execution_ms: 1200 } });
    expect(done.outputs).toHaveLength(1);
    // The signed URLs in events work like those of the job view.
    const file = await call(done.outputs[0].url);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(PNG);
    expect(stream.retryMs).toBeGreaterThan(0);

    // Resuming after the terminal event: nothing left, so 204 (EventSource stops reconnecting).
    const over = await call(`/v1/jobs/${job.id}/events`, { headers: { ...userHeaders(t.key, "alice"), "Last-Event-ID": String(events[5]!.id) } });
    expect(over.status).toBe(204);
    // The job view carries the same progress fields.
    const view = (await (await call(`/v1/jobs/${job.id}`, { headers: userHeaders(t.key, "alice") })).json()) as Record<string, any>;
    expect(view.progress).toEqual({ value: 6, max: 10, node: "1", node_type: null, percent: 20 });
  });

  it("gives a job.output link that works while the job still runs, and not once it failed", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "alice");
    const stream = await openStream(t.key, "alice", job.id);
    const [d] = await waitForDispatches(host, 1);
    await sendEvent(host, eventFor(host, d!, "job.started", { prompt_id: "p" }));
    expect((await uploadOutput(host, d!, "early.png", PNG)).status).toBe(201);
    const output = (await stream.until("job.output")).at(-1)!;
    // Still running: a client shows the image as soon as it is announced.
    expect(((await (await call(`/v1/jobs/${job.id}`, { headers: userHeaders(t.key, "alice") })).json()) as { status: string }).status).toBe("running");
    const early = await call(output.data.url);
    expect(early.status).toBe(200);
    expect(new Uint8Array(await early.arrayBuffer())).toEqual(PNG);

    await sendEvent(host, eventFor(host, d!, "job.failed", { error: { code: "execution_error", message: "a later node failed" } }));
    const failed = (await stream.rest()).at(-1)!;
    expect(failed.event).toBe("job.failed");
    // A failed job has no outputs: what its attempt stored is not served any more.
    expect(failed.data.outputs).toEqual([]);
    expect((await call(output.data.url)).status).toBe(404);
  });

  it("resumes after Last-Event-ID with nothing lost or repeated, and two streams see the same ids", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "bob");
    const [d] = await waitForDispatches(host, 1);
    const first = await openStream(t.key, "bob", job.id);
    const other = await openStream(t.key, "bob", job.id);
    const head = await first.until("job.running");
    await first.close();
    await sendEvent(host, eventFor(host, d!, "job.progress", { progress: { value: 1, max: 4, node: "1", percent: 10 } }));
    await sendEvent(host, eventFor(host, d!, "job.progress", { progress: { value: 2, max: 4, node: "1", percent: 20 } }));
    const resumed = await openStream(t.key, "bob", job.id, head.at(-1)!.id);
    await runToSuccess(host, d!);
    const tail = await resumed.rest();
    const all = await other.rest();
    expect([...head, ...tail].map((e) => [e.id, e.event])).toEqual(all.map((e) => [e.id, e.event]));
    expect(tail[0]!.id).toBeGreaterThan(head.at(-1)!.id);
    // The full history, read again after the end, is the same stream.
    const replay = await (await openStream(t.key, "bob", job.id)).rest();
    expect(replay.map((e) => [e.id, e.event, e.data.at ?? e.data.finished_at])).toEqual(all.map((e) => [e.id, e.event, e.data.at ?? e.data.finished_at]));
  });

  it("is a 404 for another tenant or another user, and refuses a malformed Last-Event-ID", async () => {
    const t = await createTenant();
    const other = await createTenant();
    const job = await submitOk(t.key, "carol");
    await expectProblem(await call(`/v1/jobs/${job.id}/events`, { headers: userHeaders(t.key, "mallory") }), 404, "not-found");
    await expectProblem(await call(`/v1/jobs/${job.id}/events`, { headers: userHeaders(other.key, "carol") }), 404, "not-found");
    await expectProblem(await call(`/v1/jobs/${job.id}/preview`, { headers: userHeaders(other.key, "carol") }), 404, "not-found");
    await expectProblem(
      await call(`/v1/jobs/${job.id}/events`, { headers: { ...userHeaders(t.key, "carol"), "Last-Event-ID": "abc" } }),
      400,
      "invalid-last-event-id",
    );
    await expectProblem(await call(`/v1/jobs/${job.id}/events`), 401, "unauthenticated");
    // Nothing left queued for the next test's host.
    await cancel(t.key, "carol", job.id);
  });

  it("ends with job.cancelled when a queued job is cancelled, and tells a watcher its queue position", async ({ expect }) => {
    const t = await createTenant();
    // No live host: both jobs wait.
    const a = await submitOk(t.key, "dave");
    const b = await submitOk(t.key, "dave");
    const stream = await openStream(t.key, "dave", b.id);
    const start = await stream.until("job.position");
    expect(start.map((e) => e.event)).toEqual(["job.queued", "job.position"]);
    // Positions count the jobs ahead (0: next), as the job view's queue_position.
    expect(start[1]!.data).toMatchObject({ position: 1 });
    expect((await call(`/v1/jobs/${a.id}`, { method: "DELETE", headers: userHeaders(t.key, "dave") })).status).toBe(200);
    const moved = await stream.next();
    expect(moved).toMatchObject({ event: "job.position", data: { position: 0 } });
    expect((await call(`/v1/jobs/${b.id}`, { method: "DELETE", headers: userHeaders(t.key, "dave") })).status).toBe(200);
    const rest = await stream.rest();
    expect(rest.map((e) => e.event)).toEqual(["job.cancelled"]);
    expect(rest[0]!.data).toMatchObject({ status: "cancelled", outputs: [] });
  });

  it("ends with job.cancelled when the host confirms the cancel of a running job", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "erin");
    const [d] = await waitForDispatches(host, 1);
    const stream = await openStream(t.key, "erin", job.id);
    expect((await call(`/v1/jobs/${job.id}`, { method: "DELETE", headers: userHeaders(t.key, "erin") })).status).toBe(200);
    await sendEvent(host, eventFor(host, d!, "job.cancelled"));
    const events = await stream.rest();
    expect(events.map((e) => e.event)).toEqual(["job.queued", "job.running", "job.cancelled"]);
  });
});

describe("Prefer: wait", () => {
  it("answers a submit with the current state when the job does not end in time", async ({ expect }) => {
    const t = await createTenant();
    const res = await submit(t.key, "frank", { workflow: WORKFLOW });
    expect(res.status).toBe(202);
    const waited = await call("/v1/jobs", json({ workflow: WORKFLOW }, { ...userHeaders(t.key, "frank"), Prefer: "wait=1" }));
    expect(waited.status).toBe(202);
    expect(waited.headers.get("Preference-Applied")).toBeNull();
    const body = (await waited.json()) as { id: string; status: string };
    expect(body.status).toBe("queued");
    await cancel(t.key, "frank", body.id);
    await cancel(t.key, "frank", ((await res.json()) as { id: string }).id);
  });

  it("returns the finished job as soon as it ends, with Preference-Applied", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "gina");
    const [d] = await waitForDispatches(host, 1);
    const waiting = call(`/v1/jobs/${job.id}`, { headers: { ...userHeaders(t.key, "gina"), Prefer: "wait=30" } });
    await runToSuccess(host, d!);
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.headers.get("Preference-Applied")).toBe("wait=30");
    expect(((await res.json()) as { status: string }).status).toBe("succeeded");
    // A wait longer than PREFER_WAIT_MAX_SECONDS is cut to it; an ended job answers at once.
    const again = await call(`/v1/jobs/${job.id}`, { headers: { ...userHeaders(t.key, "gina"), Prefer: "wait=100000" } });
    expect(again.headers.get("Preference-Applied")).toBe("wait=60");
  });
});

describe("previews", () => {
  it("keeps the latest frame of the running attempt, announces it, and drops it when the job ends", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "hana");
    const [d] = await waitForDispatches(host, 1);
    expect(d!.preview).toEqual({ min_interval_ms: 500, max_bytes: 262144 });
    await expectProblem(await call(`/v1/jobs/${job.id}/preview`, { headers: userHeaders(t.key, "hana") }), 404, "not-found");
    const stream = await openStream(t.key, "hana", job.id);
    expect((await uploadPreview(host, d!, JPEG)).status).toBe(204);
    const events = await stream.until("job.preview");
    const url = events.at(-1)!.data.url as string;
    expect(events.at(-1)!.data).toMatchObject({ attempt: 1, node: "3", content_type: "image/jpeg" });
    for (const res of [await call(`/v1/jobs/${job.id}/preview`, { headers: userHeaders(t.key, "hana") }), await call(url)]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("image/jpeg");
      expect(res.headers.get("Content-Security-Policy")).toContain("sandbox");
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(JPEG);
    }
    // Bytes that are not what the manifest says, or too large, are refused.
    await expectProblem(await uploadPreview(host, d!, PNG, "image/jpeg"), 422, "validation-failed");
    await expectProblem(await uploadPreview(host, d!, new Uint8Array(300_000).fill(0xff), "image/jpeg"), 413, "payload-too-large");
    await runToSuccess(host, d!);
    await stream.rest();
    await expectProblem(await call(`/v1/jobs/${job.id}/preview`, { headers: userHeaders(t.key, "hana") }), 404, "not-found");
    await expectProblem(await uploadPreview(host, d!, JPEG), 409, "stale-lease");
  });

  it("are neither asked for nor taken in a pool with previews off", async ({ expect }) => {
    const pool = `np-${crypto.randomUUID().slice(0, 8)}`;
    expect((await adminCall("/v1/admin/pools", json({ name: pool, previews: false }))).status).toBe(201);
    const t = await createTenant({ allowed_pools: [pool], default_pool: pool });
    const host = track(await registerFakeHost(1, undefined, pool));
    await heartbeat(host);
    const job = await submitOk(t.key, "ivan");
    const [d] = await waitForDispatches(host, 1);
    expect(d!.job_id).toBe(job.id);
    expect(d!.preview).toBeUndefined();
    await expectProblem(await uploadPreview(host, d!, JPEG), 422, "previews-off");
    const pools = (await (await adminCall(`/v1/admin/pools/${pool}`)).json()) as { previews: boolean };
    expect(pools.previews).toBe(false);
  });
});
