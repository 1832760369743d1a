// Heartbeat, /health and /metrics: what the edge and an operator see of the host.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "vitest";
import { canonicalJson } from "../../../src/protocol/canonical-json.ts";
import { comfyQueue, startHarness, waitFor } from "../support/harness.ts";
import { failing, gated, sampler } from "../support/workflows.ts";

describe("heartbeat", () => {
  it("reports host id, capacity, free slots, running jobs, version, ComfyUI state and the lock hash", async ({ expect }) => {
    const h = await startHarness({ env: { SLOTS: "1", PREFETCH: "2" } });
    const idle = await h.edge.waitForHeartbeat((b) => b.comfy === "ready");
    const lock = JSON.parse(readFileSync(new URL("../../locks/emulator.lock.json", import.meta.url), "utf8")) as unknown;
    expect(idle).toMatchObject({ type: "host.heartbeat", host_id: h.edge.hostId, capacity: 3, free_slots: 3, draining: false, jobs: [], version: "0.1.0" });
    expect(idle.lock_hash).toBe(createHash("sha256").update(canonicalJson(lock)).digest("hex"));

    const req = h.edge.newJob(gated("busy"));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.started");
    const busy = await h.edge.waitForHeartbeat((b) => b.jobs.some((j) => j.state === "running"));
    expect(busy.jobs).toEqual([{ job_id: req.job_id, attempt: 1, lease_id: req.lease_id, state: "running" }]);
    expect(busy.free_slots).toBe(2);
  });

  it("keeps a job while the edge renews its lease, and gives it up once the lease has run out", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(failing("HangEmu"), { lease_ttl_ms: 2_000 });
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForEvent((e) => e.job_id === req.job_id && e.type === "job.started");
    await h.edge.waitForHeartbeat((b) => b.jobs.some((j) => j.job_id === req.job_id && j.state === "running"));
    // A heartbeat reply renews the lease (the fake edge gives +60 s, far past the 2 s it started with).
    await waitFor(
      () => h.service.manager.list().some((j) => j.ref.job_id === req.job_id && j.leaseExpiresAt > Date.now() + 30_000),
      5_000,
      "the lease renewed",
    );
    // Time passes (the lease check is called with a later clock instead of waiting for it).
    h.service.manager.expireLeases(Date.now() + 30_000);
    expect(h.service.manager.held).toBe(1);
    h.edge.renewLeases = false;
    h.service.manager.expireLeases(Date.now() + 120_000);
    await h.edge.waitUntil(() => (h.service.manager.held === 0 ? true : undefined), 5_000, "job given up");
    expect(h.logs.some((l) => l.includes("lease expired"))).toBe(true);
    expect(await comfyQueue(h.emulator)).toEqual({ running: [], pending: [] });
    expect(h.edge.terminalsFor(req.job_id)).toEqual([]);
  });

  it("/health says whether jobs can be taken; /metrics is Prometheus text", async ({ expect }) => {
    const h = await startHarness();
    const health = await fetch(`${h.service.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: "ok",
      comfy: "ready",
      draining: false,
      capacity: 3,
      held: 0,
      free_slots: 3,
      lock_hash: h.service.lockHash,
    });
    const req = h.edge.newJob(sampler(2, 1));
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForTerminal(req.job_id);
    const metrics = await fetch(`${h.service.url}/metrics`);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/gpu_backend_jobs_total\{outcome="succeeded",code=""\} 1/);
    expect(text).toMatch(/gpu_backend_job_duration_seconds_count\{outcome="succeeded"\} 1/);
    expect(text).toMatch(/gpu_backend_queue_wait_seconds_count 1/);
    expect(text).toMatch(/gpu_backend_comfy_up 1/);
    expect(text).toContain("gpu_backend_comfy_restarts_total 0");
  });
});
