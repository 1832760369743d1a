// The outbox: a job's webhook event is written in the same D1 batch as its status change (once,
// only when the compare-and-set wins, only for subscribed events), and a message whose hand-off to
// delivery was lost (a crash right after the commit) is still delivered, by the sweeper.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { backToQueue, commitEnd, markDispatched } from "../../src/jobs/lifecycle.ts";
import { receiver, submitWithWebhook, workerEnv } from "../support/webhook-worker.ts";
import { createTenant } from "../support/worker-helpers.ts";

interface MessageRow {
  id: string;
  type: string;
  job_attempt: number;
  state: string;
  next_attempt_at: number | null;
}

async function messages(jobId: string): Promise<MessageRow[]> {
  const rows = await env.DB.prepare("SELECT id, type, job_attempt, state, next_attempt_at FROM webhook_messages WHERE job_id = ? ORDER BY occurred_at, id")
    .bind(jobId)
    .all<MessageRow>();
  return rows.results;
}

const db = () => createDb(env.DB);
const error = { code: "execution_error", message: "boom" };

describe("recording events", () => {
  it("commits the terminal event with the compare-and-set, once, and nothing for a lost race", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "alice", { url: ep.url });
    const now = Date.now();
    const won = await commitEnd(db(), job.id, "failed", { now, from: ["queued"], error });
    expect(won?.status).toBe("failed");
    expect(await messages(job.id)).toEqual([
      { id: expect.stringMatching(/^msg_/), type: "job.failed", job_attempt: 0, state: "pending", next_attempt_at: now },
    ]);
    // Later attempts to end it lose the compare-and-set and record nothing more.
    expect(await commitEnd(db(), job.id, "cancelled", { now: now + 1, from: ["queued", "running"] })).toBeUndefined();
    expect(await commitEnd(db(), job.id, "failed", { now: now + 2, from: ["queued"], error })).toBeUndefined();
    expect(await messages(job.id)).toHaveLength(1);
  });

  it("records only events the job subscribed to", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "bob", { url: ep.url, events: ["job.succeeded"] });
    expect(await markDispatched(db(), job.id, 1, "gpu-x", Date.now())).toBeDefined();
    expect(await commitEnd(db(), job.id, "failed", { now: Date.now(), from: ["running"], attempt: 1, error })).toBeDefined();
    expect(await messages(job.id)).toEqual([]);
  });

  it("records job.running once per dispatched attempt", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "carol", { url: ep.url, events: ["job.running"] });
    expect(await markDispatched(db(), job.id, 1, "gpu-x", Date.now())).toBeDefined();
    expect(await markDispatched(db(), job.id, 1, "gpu-x", Date.now())).toBeUndefined();
    expect(await backToQueue(db(), job.id, 1, "retry", Date.now())).toBeDefined();
    expect(await markDispatched(db(), job.id, 2, "gpu-y", Date.now())).toBeDefined();
    expect((await messages(job.id)).map((m) => [m.type, m.job_attempt])).toEqual([
      ["job.running", 1],
      ["job.running", 2],
    ]);
  });
});

describe("the sweeper", () => {
  it("delivers a message whose hand-off to delivery was lost", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "dave", { url: ep.url });
    // commitEnd() without the follow-up of end(): the event is committed but nobody scheduled its delivery,
    // which is what a crash between the two leaves behind.
    await commitEnd(db(), job.id, "failed", { now: Date.now(), from: ["queued"], error });
    const [msg] = await messages(job.id);
    expect(await ep.log()).toEqual([]);
    await env.DB.prepare("UPDATE webhook_messages SET next_attempt_at = ? WHERE id = ?")
      .bind(Date.now() - 5 * 60_000, msg!.id)
      .run();

    const sweeper = workerEnv.WEBHOOK_SWEEPER.getByName("global");
    await sweeper.start();
    expect(await runDurableObjectAlarm(sweeper)).toBe(true);
    const [got] = await ep.waitFor(1);
    expect(got).toMatchObject({ id: msg!.id, verifiedWith: [true], answered: 204 });
    expect(JSON.parse(got!.body).type).toBe("job.failed");
  });
});
