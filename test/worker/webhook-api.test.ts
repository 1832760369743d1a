// The webhook surface of the jobs API: an unsafe URL is refused at submit (422 saying why, no job,
// no slot), `webhook_status` on the job, and the delivery log and redelivery are owner-only.
import { describe, it } from "vitest";
import { deliveries, deliveriesCall, receiver, redeliver, submitWithWebhook } from "../support/webhook-worker.ts";
import { call, createTenant, expectProblem, json, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";

describe("an unsafe webhook URL", () => {
  it.for([
    ["plain http", "http://hooks.example.com/x", "scheme"],
    ["loopback literal", "https://127.0.0.1/hook", "private-address"],
    ["cloud metadata", "https://169.254.169.254/latest/meta-data", "private-address"],
    ["private range", "https://10.1.2.3/hook", "private-address"],
    ["IPv6 loopback", "https://[::1]/hook", "private-address"],
    ["localhost", "https://localhost/hook", "host"],
    ["internal name", "https://billing.internal/hook", "host"],
    ["credentials", "https://user:pw@hooks.example.com/x", "userinfo"],
    ["Redis port", "https://hooks.example.com:6379/x", "port"],
  ] as const)("is refused at submit: %s", async ([, url, reason], { expect }) => {
    const t = await createTenant();
    const res = await call("/v1/jobs", json({ workflow: WORKFLOW, webhook: { url } }, userHeaders(t.key, "alice")));
    const problem = await expectProblem(res, 422, "unsafe-webhook-url");
    expect(problem.reason).toBe(reason);
    expect(problem.detail).toMatch(/^The webhook URL /);
    expect(problem.errors).toEqual([{ pointer: "/webhook/url", detail: problem.detail }]);
    // Nothing was created and no slot was taken.
    const list = (await (await call("/v1/jobs", { headers: userHeaders(t.key, "alice") })).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    const usage = (await (await call("/v1/usage", { headers: userHeaders(t.key, "alice") })).json()) as Record<string, number>;
    expect(usage.user_active_jobs).toBe(0);
  });
});

describe("webhook_status", () => {
  it("is null without a webhook and idle before any subscribed event", async ({ expect }) => {
    const t = await createTenant();
    const plain = (await (await call("/v1/jobs", json({ workflow: WORKFLOW }, userHeaders(t.key, "alice")))).json()) as Record<string, any>;
    expect(plain.webhook_status).toBeNull();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "alice", { url: ep.url, events: ["job.succeeded"] });
    expect(job).toMatchObject({ webhook: { url: ep.url, events: ["job.succeeded"] }, webhook_status: "idle" });
    const read = (await (await call(`/v1/jobs/${job.id}`, { headers: userHeaders(t.key, "alice") })).json()) as Record<string, any>;
    expect(read.webhook_status).toBe("idle");
    expect(await deliveries(t, "alice", job.id)).toEqual({ webhook: { url: ep.url, events: ["job.succeeded"] }, webhook_status: "idle", events: [], data: [] });
  });
});

describe("the delivery log and redelivery", () => {
  it("are the owner's only: another user or tenant gets a 404", async () => {
    const t = await createTenant();
    const other = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "alice", { url: ep.url });
    await expectProblem(await deliveriesCall(t, "mallory", job.id), 404, "not-found");
    await expectProblem(await deliveriesCall(other, "alice", job.id), 404, "not-found");
    await expectProblem(await redeliver(t, "mallory", job.id), 404, "not-found");
    await expectProblem(await redeliver(other, "alice", job.id), 404, "not-found");
    await expectProblem(await deliveriesCall(t, "alice", "job_aaaaaaaaaaaaaaaaaaaa"), 404, "not-found");
  });

  it("redelivery needs an event to redeliver", async ({ expect }) => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const waiting = await submitWithWebhook(t, "alice", { url: ep.url });
    const none = await expectProblem(await redeliver(t, "alice", waiting.id), 409, "no-webhook-event");
    expect(none.detail).toContain("no webhook event yet");
    const plain = (await (await call("/v1/jobs", json({ workflow: WORKFLOW }, userHeaders(t.key, "alice")))).json()) as Record<string, any>;
    const noHook = await expectProblem(await redeliver(t, "alice", plain.id), 409, "no-webhook-event");
    expect(noHook.detail).toContain("without a webhook");
  });

  it("rejects a bad limit", async () => {
    const t = await createTenant();
    const ep = await receiver.endpoint([t.webhookSecret]);
    const job = await submitWithWebhook(t, "alice", { url: ep.url });
    await expectProblem(await call(`/v1/jobs/${job.id}/webhook-deliveries?limit=0`, { headers: userHeaders(t.key, "alice") }), 400, "invalid-query");
  });
});
