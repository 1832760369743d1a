// Webhook deliveries to a real receiver on 127.0.0.1 that verifies each one with the
// `standardwebhooks` npm package: the signature, the payload (the job as GET returns it), forgeries
// rejected, rotation (one signature per active secret, each verifies alone), redelivery with the
// same webhook-id, and the delivery log. Jobs end by cancellation here (no GPU host needed).
import { describe, it } from "vitest";
import { signWebhook } from "../../src/protocol/standard-webhooks.ts";
import { cancelJob, getJob, receiver, redeliver, submitWithWebhook, waitForLog } from "../support/webhook-worker.ts";
import { adminCall, createTenant } from "../support/worker-helpers.ts";

describe("a delivery", () => {
  it("is signed per Standard Webhooks, verifies with standardwebhooks, and carries the job as GET returns it", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "alice", { url: ep.url });
    const cancelled = await cancelJob(t, "alice", job.id);
    const [got] = await ep.waitFor(1);
    expect(got).toMatchObject({ verifiedWith: [true], answered: 204 });
    expect(got!.id).toMatch(/^msg_[a-z2-7]{24}$/);
    expect(got!.signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(Math.abs(Number(got!.timestamp) - Date.now() / 1000)).toBeLessThan(300);

    const payload = JSON.parse(got!.body) as Record<string, any>;
    expect(Object.keys(payload)).toEqual(["type", "timestamp", "data"]);
    expect(payload.type).toBe("job.cancelled");
    expect(payload.timestamp).toBe(cancelled.finished_at);
    // The job is GET /v1/jobs/{id}'s representation; only its webhook_status moved on since.
    const read = await getJob(t, "alice", job.id);
    expect({ ...payload.data.job, webhook_status: null }).toEqual({ ...read, webhook_status: null });
    expect(payload.data.job).toMatchObject({ id: job.id, status: "cancelled", webhook: { url: ep.url } });
    expect(got!.body.length).toBeLessThan(4096);

    const log = await waitForLog(t, "alice", job.id, (l) => l.webhook_status === "delivered");
    expect(log.webhook_status).toBe("delivered");
    expect(read.webhook_status === "delivered" || read.webhook_status === "pending").toBe(true);
    expect(log.events).toEqual([
      {
        webhook_id: got!.id,
        type: "job.cancelled",
        occurred_at: cancelled.finished_at,
        state: "delivered",
        attempts: 1,
        next_attempt_at: null,
        last_attempt_at: expect.any(String),
      },
    ]);
    expect(log.data).toEqual([
      {
        webhook_id: got!.id,
        type: "job.cancelled",
        attempted_at: expect.any(String),
        duration_ms: expect.any(Number),
        status_code: 204,
        error: null,
        outcome: "delivered",
      },
    ]);
    expect((await getJob(t, "alice", job.id)).webhook_status).toBe("delivered");
  });

  it("cannot be forged or altered: the receiver rejects tampered copies and accepts the original", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "bob", { url: ep.url });
    await cancelJob(t, "bob", job.id);
    const [got] = await ep.waitFor(1);
    const headers = { "webhook-id": got!.id, "webhook-timestamp": got!.timestamp, "webhook-signature": got!.signature };
    expect(await receiver.post(ep, got!.body, headers)).toBe(204);
    expect(await receiver.post(ep, got!.body.replace('"cancelled"', '"succeeded"'), headers)).toBe(401);
    expect(await receiver.post(ep, got!.body, { ...headers, "webhook-id": "msg_other" })).toBe(401);
    expect(await receiver.post(ep, got!.body, { ...headers, "webhook-timestamp": String(Number(got!.timestamp) + 1) })).toBe(401);
    const forged = await signWebhook([`whsec_${btoa("not-the-tenant-secret-0123456789")}`], got!.body, { id: got!.id });
    expect(await receiver.post(ep, got!.body, { ...forged })).toBe(401);
  });
});

describe("secret rotation", () => {
  it("signs with every active secret during the overlap (each verifies alone), then only with the new one", async ({ expect }) => {
    const t = await createTenant();
    const added = (await (await adminCall(`/v1/admin/tenants/${t.id}/webhook-secrets`, { method: "POST" })).json()) as { id: string; secret: string };
    const ep = await receiver.endpoint([t.webhookSecret, added.secret]);

    const during = await submitWithWebhook(t, "carol", { url: ep.url });
    await cancelJob(t, "carol", during.id);
    const [first] = await ep.waitFor(1);
    expect(first!.signature.split(" ")).toHaveLength(2);
    expect(first!.verifiedWith).toEqual([true, true]);

    const secrets = ((await (await adminCall(`/v1/admin/tenants/${t.id}/webhook-secrets`)).json()) as { data: { id: string }[] }).data;
    const old = secrets.find((s) => s.id !== added.id)!;
    expect((await adminCall(`/v1/admin/tenants/${t.id}/webhook-secrets/${old.id}`, { method: "DELETE" })).status).toBe(200);

    const after = await submitWithWebhook(t, "carol", { url: ep.url });
    await cancelJob(t, "carol", after.id);
    const second = (await ep.waitFor(2))[1];
    expect(second!.signature.split(" ")).toHaveLength(1);
    expect(second!.verifiedWith).toEqual([false, true]);
  });
});

describe("redelivery", () => {
  it("sends the latest event again with the same webhook-id, and logs both attempts", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "dave", { url: ep.url });
    await cancelJob(t, "dave", job.id);
    const [first] = await ep.waitFor(1);
    await waitForLog(t, "dave", job.id, (l) => l.webhook_status === "delivered");

    const res = await redeliver(t, "dave", job.id);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ webhook_id: first!.id, type: "job.cancelled", state: "pending" });
    const both = await ep.waitFor(2);
    expect(both).toHaveLength(2);
    expect(both[1]!.id).toBe(first!.id);
    expect(both[1]!.verifiedWith).toEqual([true]);
    expect(JSON.parse(both[1]!.body).type).toBe("job.cancelled");

    const log = await waitForLog(t, "dave", job.id, (l) => l.data.length === 2 && l.webhook_status === "delivered");
    expect(log.events).toHaveLength(1);
    expect(log.events[0]).toMatchObject({ webhook_id: first!.id, state: "delivered", attempts: 2 });
    expect(log.data.map((a: { webhook_id: string; status_code: number }) => [a.webhook_id, a.status_code])).toEqual([
      [first!.id, 204],
      [first!.id, 204],
    ]);
  });
});
