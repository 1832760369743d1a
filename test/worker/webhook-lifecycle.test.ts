// Webhooks over a job's whole life on a (fake) GPU host: job.running when it is dispatched,
// job.succeeded with output URLs that download, only the subscribed events, and a 410 Gone that
// stops every later delivery of the job until a redelivery switches it back on.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import type { DispatchRequest } from "../../src/protocol/messages.ts";
import { getJob, type Json, receiver, redeliver, submitWithWebhook, waitForLog, workerEnv } from "../support/webhook-worker.ts";
import { call, createTenant, type TestTenant } from "../support/worker-helpers.ts";
import { eventFor, outputDescriptor, sendEvent, type TestHost, uploadOutput, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9, 9]);

async function succeed(host: TestHost, d: DispatchRequest): Promise<void> {
  expect200(await uploadOutput(host, d, "out_00001_.png", PNG));
  const sha = toHex(await sha256(PNG));
  expect200(await sendEvent(host, eventFor(host, d, "job.succeeded", { outputs: [outputDescriptor("out_00001_.png", PNG, sha)] })));
}

function expect200(res: Response): void {
  if (res.status >= 300) throw new Error(`host call answered ${res.status}`);
}

const payloadOf = (body: string) => JSON.parse(body) as { type: string; timestamp: string; data: { job: Json } };

describe("a job's webhooks", () => {
  it("sends job.running at dispatch and job.succeeded with output URLs that download", async ({ expect }) => {
    const t: TestTenant = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const host = await liveHost();
    const job = await submitWithWebhook(t, "alice", { url: ep.url, events: ["job.running", "job.succeeded"] });
    const [d] = await waitForDispatches(host, 1);

    const [running] = await ep.waitFor(1);
    expect(running!.verifiedWith).toEqual([true]);
    const r = payloadOf(running!.body);
    expect(r.type).toBe("job.running");
    expect(r.data.job).toMatchObject({ id: job.id, status: "running", attempt: 1, started_at: expect.any(String), finished_at: null, outputs: [] });

    await succeed(host, d!);
    const both = await ep.waitFor(2);
    expect(both).toHaveLength(2);
    const s = payloadOf(both[1]!.body);
    expect(both[1]!.verifiedWith).toEqual([true]);
    expect(both[1]!.id).not.toBe(running!.id);
    expect(s.type).toBe("job.succeeded");
    expect(s.data.job).toMatchObject({ id: job.id, status: "succeeded", error: null });
    expect(s.data.job.outputs).toEqual([
      expect.objectContaining({
        name: "out_00001_.png",
        size: PNG.length,
        url: expect.stringMatching(new RegExp(`^https://api\\.test/v1/jobs/${job.id}/outputs/out_00001_\\.png\\?`)),
      }),
    ]);
    // The URL in the webhook is enough to download the output: no credentials needed.
    const download = await call(s.data.job.outputs[0].url);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(PNG);

    const log = await waitForLog(t, "alice", job.id, (l) => l.events.length === 2 && l.events.every((e: Json) => e.state === "delivered"));
    expect(log.events.map((e: Json) => [e.type, e.state])).toEqual([
      ["job.succeeded", "delivered"],
      ["job.running", "delivered"],
    ]);
    expect((await getJob(t, "alice", job.id)).webhook_status).toBe("delivered");
  });

  it("sends the same bytes on every attempt of an event: a retry and a redelivery carry the first attempt's payload", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret], [{ status: 503 }]);
    const host = await liveHost();
    const job = await submitWithWebhook(t, "erin", { url: ep.url });
    const [d] = await waitForDispatches(host, 1);
    await succeed(host, d!);
    const [first] = await ep.waitFor(1);
    expect(first!.answered).toBe(503);
    // The retry is due in 5 s: make it due now and run the delivery object's alarm.
    await env.DB.prepare("UPDATE webhook_messages SET next_attempt_at = ? WHERE job_id = ?")
      .bind(Date.now() - 1, job.id)
      .run();
    const delivery = workerEnv.WEBHOOK_DELIVERY.getByName(job.id as string);
    await delivery.schedule(job.id as string);
    await runDurableObjectAlarm(delivery);
    await waitForLog(t, "erin", job.id, (l) => l.webhook_status === "delivered");
    expect((await redeliver(t, "erin", job.id)).status).toBe(202);
    const all = await ep.waitFor(3);
    expect(all.map((a) => [a.id, a.answered])).toEqual([
      [first!.id, 503],
      [first!.id, 204],
      [first!.id, 204],
    ]);
    expect(new Set(all.map((a) => a.body)).size).toBe(1);
    const payload = payloadOf(first!.body);
    expect(payload.data.job).toMatchObject({ status: "succeeded", webhook_status: "pending", queue_position: null });
    // Its links are signed once, at the first attempt, and still download.
    expect((await call(payload.data.job.outputs[0].url)).status).toBe(200);
  });

  it("sends only the events asked for (by default the terminal ones)", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const host = await liveHost();
    const job = await submitWithWebhook(t, "bob", { url: ep.url });
    const [d] = await waitForDispatches(host, 1);
    expect200(await sendEvent(host, eventFor(host, d!, "job.failed", { error: { code: "invalid_workflow", message: "bad graph" } })));
    const [only] = await ep.waitFor(1);
    const p = payloadOf(only!.body);
    expect(p.type).toBe("job.failed");
    expect(p.data.job).toMatchObject({ status: "failed", error: { code: "invalid_workflow", message: "bad graph" } });
    const log = await waitForLog(t, "bob", job.id, (l) => l.webhook_status === "delivered");
    expect(log.events.map((e: Json) => e.type)).toEqual(["job.failed"]);
    expect(await ep.log()).toHaveLength(1);
  });

  it("stops after a 410 Gone (later events are not sent) until a redelivery", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret], [{ status: 410 }]);
    const host = await liveHost();
    const job = await submitWithWebhook(t, "carol", { url: ep.url, events: ["job.running", "job.succeeded"] });
    const [d] = await waitForDispatches(host, 1);
    const [gone] = await ep.waitFor(1);
    expect(gone!.answered).toBe(410);
    const afterGone = await waitForLog(t, "carol", job.id, (l) => l.webhook_status === "gone");
    expect(afterGone.events).toEqual([expect.objectContaining({ type: "job.running", state: "gone", attempts: 1, next_attempt_at: null })]);
    expect(afterGone.data).toEqual([expect.objectContaining({ status_code: 410, outcome: "gone", error: null })]);

    await succeed(host, d!);
    const stopped = await waitForLog(t, "carol", job.id, (l) => l.events.length === 2 && l.events[0].state === "gone");
    expect(stopped.events.map((e: Json) => [e.type, e.state, e.attempts])).toEqual([
      ["job.succeeded", "gone", 0],
      ["job.running", "gone", 1],
    ]);
    expect(await ep.log()).toHaveLength(1);

    // The customer fixed the receiver: a redelivery sends the latest event, and switches it back on.
    const res = await redeliver(t, "carol", job.id);
    expect(res.status).toBe(202);
    const [, again] = await ep.waitFor(2);
    expect(again!.answered).toBe(204);
    expect(payloadOf(again!.body).type).toBe("job.succeeded");
    const log = await waitForLog(t, "carol", job.id, (l) => l.webhook_status === "delivered");
    expect(log.webhook_status).toBe("delivered");
  });
});
