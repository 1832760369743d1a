// A job's whole life through the Dispatcher against a (fake) GPU host: a dispatch signed for that
// host, events, outputs uploaded to R2, success, download by owner and by signed URL; and fencing.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { verifyEdgeRequest } from "../../src/protocol/edge-signing.ts";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import type { JobEvent } from "../../src/protocol/messages.ts";
import { MemoryReplayGuard } from "../../src/protocol/replay-guard.ts";
import { adminCall, call, createTenant, expectProblem, submitOk, tamperSignature, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";
import {
  dispatcherPlace,
  dispatchesTo,
  eventFor,
  heartbeat,
  heartbeatMessage,
  outputDescriptor,
  received,
  registerFakeHost,
  sendEvent,
  uploadOutput,
  useTestHosts,
  waitForDispatches,
} from "../support/worker-hosts.ts";

const { liveHost, track } = useTestHosts();

const getJob = async (key: string, user: string, id: string) =>
  (await (await call(`/v1/jobs/${id}`, { headers: userHeaders(key, user) })).json()) as Record<string, any>;

describe("a job's life", () => {
  it("is dispatched to a live host with a request signed for that host, runs, uploads, succeeds and downloads", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "alice");
    const [d] = await waitForDispatches(host, 1);
    expect(d).toMatchObject({ job_id: job.id, attempt: 1, tenant_id: t.id, workflow: WORKFLOW, inputs: [], deadline_ms: 1_800_000 });

    // The edge's token verifies for exactly this host, method, path and body — and only once.
    const [first] = await received(host);
    const guard = new MemoryReplayGuard();
    const req = { hostId: host.id, method: "POST", path: "/v1/jobs", body: first!.body };
    expect(await verifyEdgeRequest(host.jwks as never, first!.authorization, req, guard)).toMatchObject({ ok: true });
    expect(await verifyEdgeRequest(host.jwks as never, first!.authorization, req, guard)).toEqual({ ok: false, reason: "replayed" });
    expect(await verifyEdgeRequest(host.jwks as never, first!.authorization, { ...req, hostId: "someone-else" }, new MemoryReplayGuard())).toEqual({
      ok: false,
      reason: "wrong_host",
    });

    expect(await getJob(t.key, "alice", job.id)).toMatchObject({ status: "running", attempt: 1, started_at: expect.any(String) });
    expect((await sendEvent(host, eventFor(host, d!, "job.started", { prompt_id: "p1" }))).status).toBe(200);
    expect((await sendEvent(host, eventFor(host, d!, "job.progress", { progress: { value: 3, max: 10, node: "5" } }))).status).toBe(200);
    expect((await getJob(t.key, "alice", job.id)).progress).toEqual({ value: 3, max: 10, node: "5", node_type: null, percent: null });

    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
    const sha = toHex(await sha256(png));
    expect((await uploadOutput(host, d!, "out_00001_.png", png)).status).toBe(201);
    const done = await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [outputDescriptor("out_00001_.png", png, sha)] }));
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ applied: true });

    const final = await getJob(t.key, "alice", job.id);
    expect(final).toMatchObject({ status: "succeeded", finished_at: expect.any(String), error: null });
    expect(final.outputs).toEqual([
      {
        name: "out_00001_.png",
        content_type: "image/png",
        size: png.length,
        sha256: sha,
        kind: "images",
        url: expect.stringContaining(`/v1/jobs/${job.id}/outputs/out_00001_.png?expires=`),
      },
    ]);

    const owner = await call(`/v1/jobs/${job.id}/outputs/out_00001_.png`, { headers: userHeaders(t.key, "alice") });
    expect(owner.status).toBe(200);
    expect(owner.headers.get("Content-Type")).toBe("image/png");
    expect(new Uint8Array(await owner.arrayBuffer())).toEqual(png);
    const signed = await call(final.outputs[0].url);
    expect(new Uint8Array(await signed.arrayBuffer())).toEqual(png);
    await expectProblem(await call(tamperSignature(final.outputs[0].url)), 401, "unauthenticated");
    await expectProblem(await call(`/v1/jobs/${job.id}/outputs/out_00001_.png`, { headers: userHeaders(t.key, "mallory") }), 404, "not-found");
    await expectProblem(await call(`/v1/jobs/${job.id}/outputs/nope.png`, { headers: userHeaders(t.key, "alice") }), 404, "not-found");

    const usage = (await (await call("/v1/usage", { headers: userHeaders(t.key, "alice") })).json()) as Record<string, number>;
    expect(usage.user_active_jobs).toBe(0);
  });

  it("ignores a duplicate event and refuses success before every output is uploaded", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "bob");
    const [d] = await waitForDispatches(host, 1);
    const started = eventFor(host, d!, "job.started", { prompt_id: "p" });
    expect(await (await sendEvent(host, started)).json()).toEqual({ applied: true });
    // A retry of the same event (new signature, same seq) changes nothing.
    expect(await (await sendEvent(host, started)).json()).toEqual({ applied: false });
    const png = new Uint8Array([1, 2, 3]);
    const early = await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [outputDescriptor("a.png", png, toHex(await sha256(png)))] }));
    await expectProblem(early, 422, "validation-failed");
    expect((await getJob(t.key, "bob", job.id)).status).toBe("running");
    await uploadOutput(host, d!, "a.png", png);
    expect((await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [outputDescriptor("a.png", png, toHex(await sha256(png)))] }))).status).toBe(
      200,
    );
    expect((await getJob(t.key, "bob", job.id)).status).toBe("succeeded");
  });

  it("reports a non-retryable failure with the host's details, once", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "carol");
    const [d] = await waitForDispatches(host, 1);
    const details = { node_errors: { "2": { errors: [{ type: "required_input_missing" }] } } };
    const failed = eventFor(host, d!, "job.failed", { error: { code: "invalid_workflow", message: "Prompt outputs failed validation", details } });
    expect((await sendEvent(host, failed)).status).toBe(200);
    const view = await getJob(t.key, "carol", job.id);
    expect(view).toMatchObject({ status: "failed", attempt: 1, error: { code: "invalid_workflow", message: "Prompt outputs failed validation", details } });
    // Anything later from the host for this job is stale.
    await expectProblem(await sendEvent(host, eventFor(host, d!, "job.cancelled")), 409, "stale-lease");
  });
});

describe("keeping the GPU busy", () => {
  it("job.executed frees the host's GPU slot at once, so the next job is dispatched while outputs upload", async ({ expect }) => {
    const t = await createTenant();
    const host = await registerFakeHost(1);
    track(host);
    await heartbeat(host, { capacity: 1, free_slots: 1 });
    const first = await submitOk(t.key, "gpu");
    const second = await submitOk(t.key, "gpu");
    const [d1] = await waitForDispatches(host, 1);
    expect(d1!.job_id).toBe(first.id);
    // The host's only GPU slot is taken: the second job waits in the queue.
    expect(await dispatcherPlace(second.id)).toBe("queued");
    expect(await dispatchesTo(host)).toHaveLength(1);
    await sendEvent(host, eventFor(host, d1!, "job.executed"));
    const [, d2] = await waitForDispatches(host, 2);
    expect(d2!.job_id).toBe(second.id);
    // The first job is still running (uploading) until its success arrives.
    expect((await getJob(t.key, "gpu", first.id)).status).toBe("running");
    await sendEvent(host, eventFor(host, d1!, "job.succeeded", { outputs: [] }));
    await sendEvent(host, eventFor(host, d2!, "job.cancelled"));
    expect((await getJob(t.key, "gpu", first.id)).status).toBe("succeeded");
  });
});

describe("fencing", () => {
  it("refuses events, uploads and input downloads naming a lease or attempt that is not current", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "dave");
    const [d] = await waitForDispatches(host, 1);
    const wrongLease = { ...d!, lease_id: "not-the-lease-0000" };
    await expectProblem(await sendEvent(host, eventFor(host, wrongLease, "job.started", { prompt_id: "p" })), 409, "stale-lease");
    await expectProblem(await sendEvent(host, eventFor(host, { ...d!, attempt: 2 }, "job.started", { prompt_id: "p" })), 409, "stale-lease");
    await expectProblem(await uploadOutput(host, wrongLease, "x.png", new Uint8Array([1])), 409, "stale-lease");

    // Another registered host cannot act on this job either.
    const other = await liveHost();
    await expectProblem(await sendEvent(other, eventFor(other, d!, "job.started", { prompt_id: "p" })), 409, "stale-lease");
    expect((await getJob(t.key, "dave", job.id)).status).toBe("running");
  });

  it("refuses host messages with a bad signature or a replayed message id", async ({ expect }) => {
    const host = await liveHost();
    const forged = { ...host, secret: `whsec_${btoa("x".repeat(32))}` };
    await expectProblem(await heartbeat(forged), 401, "unauthenticated");
    await expectProblem(await heartbeat({ ...host, id: "gpu-not-registered" }), 401, "unauthenticated");
    // Replaying a captured heartbeat byte for byte (same webhook-id) is refused.
    const { signHostPayload } = await import("../../src/protocol/host-signing.ts");
    const body = JSON.stringify(heartbeatMessage(host));
    const headers = { ...(await signHostPayload([host.secret], body)), "Content-Type": "application/json" };
    expect((await call(`/v1/hosts/${host.id}/heartbeat`, { method: "POST", body, headers })).status).toBe(200);
    await expectProblem(await call(`/v1/hosts/${host.id}/heartbeat`, { method: "POST", body, headers }), 401, "unauthenticated");

    // Job events and uploads claim their message id in the Dispatcher call that acts on them:
    // replayed, they are refused the same way, and change nothing.
    const t = await createTenant();
    const job = await submitOk(t.key, "replay");
    // An earlier test's job, handed back when its host went, may reach this host first.
    let dispatched = await waitForDispatches(host, 1);
    if (!dispatched.some((x) => x.job_id === job.id)) dispatched = await waitForDispatches(host, 2);
    const d = dispatched.find((x) => x.job_id === job.id);
    const { signHostManifest } = await import("../../src/protocol/host-signing.ts");
    const bytes = new Uint8Array([1, 2, 3]);
    const path = `/v1/hosts/${host.id}/jobs/${d!.job_id}/outputs/r.png`;
    const manifest = {
      ...d!,
      host_id: host.id,
      method: "PUT" as const,
      path,
      content_type: "image/png",
      size: 3,
      sha256: toHex(await sha256(bytes)),
      node_id: "9",
      kind: "images",
    };
    const putHeaders = { ...(await signHostManifest([host.secret], manifest)), "Content-Type": "image/png" };
    expect((await call(path, { method: "PUT", body: bytes, headers: putHeaders })).status).toBe(201);
    await expectProblem(await call(path, { method: "PUT", body: bytes, headers: putHeaders }), 401, "unauthenticated");
    const failedEvent = JSON.stringify(eventFor(host, d!, "job.failed", { error: { code: "invalid_workflow", message: "x" } }));
    const eventHeaders = { ...(await signHostPayload([host.secret], failedEvent)), "Content-Type": "application/json" };
    const applied = await call(`/v1/hosts/${host.id}/events`, { method: "POST", body: failedEvent, headers: eventHeaders });
    expect(await applied.json()).toEqual({ applied: true });
    await expectProblem(await call(`/v1/hosts/${host.id}/events`, { method: "POST", body: failedEvent, headers: eventHeaders }), 401, "unauthenticated");
    expect((await getJob(t.key, "replay", job.id)).status).toBe("failed");
    for (const other of dispatched.filter((x) => x.job_id !== job.id)) {
      await sendEvent(host, eventFor(host, other, "job.failed", { error: { code: "invalid_workflow", message: "x" } }));
    }
  });

  it("ends a job with one call when its last upload carries the job.succeeded, and refuses any other carried event", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "carol");
    const [d] = await waitForDispatches(host, 1);
    const bytes = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 0]);
    const descriptor = outputDescriptor("last.png", bytes, toHex(await sha256(bytes)));
    // Refused before anything is stored: another attempt's end, or an end that is not a success.
    const otherAttempt = { ...eventFor(host, d!, "job.succeeded", { outputs: [descriptor] }), attempt: d!.attempt + 1 } as JobEvent;
    await expectProblem(await uploadOutput(host, d!, "last.png", bytes, "image/png", { terminal: otherAttempt }), 422, "validation-failed");
    const failedEnd = eventFor(host, d!, "job.failed", { error: { code: "execution_error", message: "x" } });
    await expectProblem(await uploadOutput(host, d!, "last.png", bytes, "image/png", { terminal: failedEnd }), 422, "validation-failed");
    expect((await getJob(t.key, "carol", job.id)).outputs).toEqual([]);

    const end = eventFor(host, d!, "job.succeeded", { outputs: [descriptor], execution_ms: 1234, upload_ms: 5, model_fetch_ms: 0, input_fetch_ms: 7 });
    const res = await uploadOutput(host, d!, "last.png", bytes, "image/png", { terminal: end });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ stored: true, name: "last.png", size: bytes.length, terminal: { applied: true } });
    const done = await getJob(t.key, "carol", job.id);
    expect(done.status).toBe("succeeded");
    expect(done.outputs.map((o: { name: string }) => o.name)).toEqual(["last.png"]);
    // No job.started nor job.executed came: the success said what they would have.
    expect(done.timings).toMatchObject({ execution_ms: 1234, upload_ms: 5, model_fetch_ms: 0, input_fetch_ms: 7 });
  });

  it("refuses an upload whose bytes differ from the signed SHA-256", async () => {
    const t = await createTenant();
    const host = await liveHost();
    await submitOk(t.key, "erin");
    const [d] = await waitForDispatches(host, 1);
    await expectProblem(await uploadOutput(host, d!, "y.png", new Uint8Array([1, 2, 3]), "image/png", { sha256: "0".repeat(64) }), 422, "validation-failed");
    await expectProblem(await uploadOutput(host, d!, "y.png", new Uint8Array([1, 2, 3]), "image/png", { size: 4 }), 422, "validation-failed");
    // Clean up: finish the job so the next test's hosts get no leftover work.
    await sendEvent(host, eventFor(host, d!, "job.failed", { error: { code: "execution_error", message: "x" } }));
  });
});

describe("hosts", () => {
  it("a host that heartbeats while its ComfyUI is down is listed as not live", async ({ expect }) => {
    const host = await liveHost(1);
    const view = async () => ((await (await adminCall("/v1/admin/hosts")).json()) as { data: Record<string, unknown>[] }).data.find((h) => h.id === host.id);
    expect(await view()).toMatchObject({ live: true, comfy: "ready" });
    expect((await heartbeat(host, { comfy: "down" })).status).toBe(200);
    expect(await view()).toMatchObject({ live: false, comfy: "down" });
    expect((await heartbeat(host, { comfy: "ready" })).status).toBe(200);
    expect(await view()).toMatchObject({ live: true, comfy: "ready" });
  });

  it("registers with credentials shown once, lists live state, and refuses plain-http URLs", async ({ expect }) => {
    const host = await liveHost(2);
    const list = (await (await adminCall("/v1/admin/hosts")).json()) as { data: Record<string, unknown>[] };
    const mine = list.data.find((h) => h.id === host.id)!;
    expect(mine).toMatchObject({ slots: 2, live: true, comfy: "ready", draining: false, assigned: 0, lock_ok: true });
    expect(JSON.stringify(list)).not.toContain(host.secret.slice(6));
    const res = await adminCall("/v1/admin/hosts", {
      method: "POST",
      body: JSON.stringify({ id: "gpu-plain", url: "http://gpu.example.com" }),
      headers: { "Content-Type": "application/json" },
    });
    await expectProblem(res, 422, "validation-failed");
    const dup = await adminCall("/v1/admin/hosts", {
      method: "POST",
      body: JSON.stringify({ id: host.id, url: "https://x.example.com" }),
      headers: { "Content-Type": "application/json" },
    });
    await expectProblem(dup, 409, "conflict");
    const stored = await env.DB.prepare("SELECT secret_ciphertext FROM gpu_hosts WHERE id = ?").bind(host.id).first<{ secret_ciphertext: string }>();
    expect(stored!.secret_ciphertext).not.toContain(host.secret.slice(6, 20));
  });
});
