// The invariant checker (bench/chaos/invariants.ts) on made-up runs: a clean one passes, and each
// broken promise — two terminal states, an output that does not match, a job that ran to success
// twice, a webhook payload that changed between attempts, a leaked slot, a 5xx — is reported with
// the job it concerns.
import { describe, it } from "vitest";
import { checkInvariants, type JobEvidence, type StackEvidence } from "../../bench/chaos/invariants.ts";
import type { ExecutionRecord, RunRecords, SubmittedJob } from "../../bench/chaos/journal.ts";
import type { Delivery } from "../../bench/chaos/receiver.ts";
import { prefixOf } from "../../bench/chaos/workflows.ts";

const JOB: SubmittedJob = { index: 0, id: "job_a", tenant: 0, user: "user-1", nonce: "0xabc", kind: "slow", submittedAt: 1 };
const FINISHED = "2026-12-02T00:00:01.000Z";
const SHA = "ab".repeat(32);

function body(type: string, extra = ""): string {
  return JSON.stringify({ type, timestamp: FINISHED, data: { job: { id: JOB.id, status: type.slice(4), extra } } });
}

function delivery(answered: number, b = body("job.succeeded"), webhookId = "msg_1"): Delivery {
  return { receiver: 0, at: 10, webhookId, timestamp: "1", body: b, verified: true, answered };
}

function execution(status: string): ExecutionRecord {
  return {
    host: "gpu-1",
    prompt_id: crypto.randomUUID(),
    status,
    interrupted: false,
    prompt: { "3": { class_type: "SaveImage", inputs: { filename_prefix: `ns/${prefixOf(JOB.nonce)}` } } },
  };
}

function cleanRun(): { records: RunRecords; evidence: StackEvidence } {
  const records: RunRecords = {
    info: { edge: "http://127.0.0.1:1", plan: {} as RunRecords["info"]["plan"], tenants: [], receivers: [], startedAt: 0 },
    jobs: [JOB],
    observations: [
      { id: JOB.id, at: 2, status: "running", attempt: 1, finishedAt: null },
      { id: JOB.id, at: 3, status: "succeeded", attempt: 1, finishedAt: FINISHED },
    ],
    cancels: [],
    apiFailures: [],
    faults: [],
    deliveries: [delivery(503), delivery(204)],
    executions: [execution("success")],
  };
  const job: JobEvidence = {
    job: JOB,
    view: {
      id: JOB.id,
      status: "succeeded",
      attempt: 1,
      finished_at: FINISHED,
      outputs: [{ name: "o.png", size: 3, sha256: SHA, url: "http://x/o.png" }],
      error: null,
      webhook_status: "delivered",
    },
    events: [
      { id: "1", event: "job.queued" },
      { id: "2", event: "job.running" },
      { id: "3", event: "job.succeeded" },
    ],
    downloads: [{ name: "o.png", status: 200, sha256: SHA, size: 3 }],
    messages: [{ type: "job.succeeded", webhook_id: "msg_1", state: "delivered" }],
  };
  return {
    records,
    evidence: {
      jobs: [job],
      usage: [{ tenant: 0, user: "user-1", user_active_jobs: 0, tenant_active_jobs: 0 }],
      hosts: [{ id: "gpu-1", assigned: 0, live: true }],
      checkerFailures: [],
    },
  };
}

/** The clean run, but the job failed with `code` (consistently: feed, webhook, no outputs). */
function failedRun(code: string): ReturnType<typeof cleanRun> {
  const run = cleanRun();
  Object.assign(run.evidence.jobs[0]!.view!, { status: "failed", outputs: [], error: { code, message: "?" } });
  run.evidence.jobs[0]!.events[2] = { id: "3", event: "job.failed" };
  run.records.observations.pop();
  run.records.deliveries = [delivery(204, body("job.failed"))];
  run.evidence.jobs[0]!.messages[0]!.type = "job.failed";
  return run;
}

const invariantsOf = (run: ReturnType<typeof cleanRun>) => checkInvariants(run.records, run.evidence).violations.map((v) => [v.invariant, v.job ?? null]);

describe("the invariant checker", () => {
  it("passes a run that kept every promise, and counts what it saw", ({ expect }) => {
    const run = cleanRun();
    const { violations, figures } = checkInvariants(run.records, run.evidence);
    expect(violations).toEqual([]);
    expect(figures).toMatchObject({
      jobs: 1,
      by_status: { succeeded: 1 },
      executions: 1,
      repeated_executions: 0,
      retried_jobs: 0,
      failed_by_code: {},
      deliveries: 2,
      redeliveries: 1,
    });
  });

  it("reports a second terminal event, a terminal state that changed, and a job still running", ({ expect }) => {
    const twice = cleanRun();
    twice.evidence.jobs[0]!.events.push({ id: "4", event: "job.failed" });
    expect(invariantsOf(twice)).toEqual([["terminal-once", JOB.id]]);
    const changed = cleanRun();
    changed.records.observations.push({ id: JOB.id, at: 4, status: "failed", attempt: 2, finishedAt: "2026-12-02T00:00:09.000Z" });
    expect(invariantsOf(changed)).toContainEqual(["terminal-once", JOB.id]);
    const live = cleanRun();
    live.evidence.jobs[0]!.view!.status = "running";
    expect(invariantsOf(live)).toContainEqual(["terminal-once", JOB.id]);
  });

  it("reports a cancel that answered cancelled for a job that then succeeded", ({ expect }) => {
    const run = cleanRun();
    run.records.cancels.push({ id: JOB.id, at: 2, status: 200, jobStatus: "cancelled" });
    expect(invariantsOf(run)).toEqual([["terminal-once", JOB.id]]);
  });

  it("reports outputs that do not download or do not match, and outputs of a job that did not succeed", ({ expect }) => {
    const wrong = cleanRun();
    wrong.evidence.jobs[0]!.downloads[0]!.sha256 = "cd".repeat(32);
    expect(invariantsOf(wrong)).toEqual([["outputs", JOB.id]]);
    const missing = cleanRun();
    missing.evidence.jobs[0]!.downloads[0]!.status = 404;
    expect(invariantsOf(missing)).toEqual([["outputs", JOB.id]]);
    // Failed after its retries (a fault's code), yet it kept the outputs of the succeeded run.
    const failed = failedRun("host_error");
    failed.evidence.jobs[0]!.view!.outputs = cleanRun().evidence.jobs[0]!.view!.outputs;
    expect(invariantsOf(failed)).toEqual([["outputs", JOB.id]]);
  });

  it("reports a job that ran to success more often than it was dispatched, and a failing graph that succeeded", ({ expect }) => {
    const twice = cleanRun();
    twice.records.executions.push(execution("success"));
    expect(invariantsOf(twice)).toEqual([["executions", JOB.id]]);
    const retried = cleanRun();
    retried.records.executions.push(execution("success"));
    retried.evidence.jobs[0]!.view!.attempt = 2;
    expect(invariantsOf(retried)).toEqual([]);
    const failing = cleanRun();
    failing.evidence.jobs[0]!.job = { ...JOB, kind: "failing" };
    expect(invariantsOf(failing)).toEqual([["outcome", JOB.id]]);
  });

  it("reports a graph that should succeed failing with a code no fault explains", ({ expect }) => {
    expect(invariantsOf(failedRun("host_error"))).toEqual([]);
    expect(invariantsOf(failedRun("invalid_workflow"))).toEqual([["outcome", JOB.id]]);
  });

  it("reports a payload that changed between attempts, two webhook-ids, a forgery and a terminal event never delivered", ({ expect }) => {
    const changed = cleanRun();
    changed.records.deliveries[1] = delivery(204, body("job.succeeded", "moved"));
    expect(invariantsOf(changed)).toEqual([["webhooks", JOB.id]]);
    const twoIds = cleanRun();
    twoIds.records.deliveries[1] = delivery(204, body("job.succeeded"), "msg_2");
    expect(invariantsOf(twoIds)).toContainEqual(["webhooks", JOB.id]);
    const forged = cleanRun();
    forged.records.deliveries[0]!.verified = false;
    expect(invariantsOf(forged)).toEqual([["webhooks", JOB.id]]);
    const undelivered = cleanRun();
    undelivered.records.deliveries = [delivery(503), delivery(0)];
    undelivered.evidence.jobs[0]!.messages[0]!.state = "pending";
    expect(invariantsOf(undelivered)).toEqual([
      ["webhooks", JOB.id],
      ["webhooks", JOB.id],
    ]);
  });

  it("reports leaked slots and any 5xx, from the run or the check", ({ expect }) => {
    const run = cleanRun();
    run.evidence.usage[0]!.user_active_jobs = 1;
    run.evidence.hosts[0]!.assigned = 1;
    run.records.apiFailures.push({ at: 5, method: "POST", path: "/v1/jobs", status: 500, body: "{}" });
    run.evidence.checkerFailures.push({ at: 6, method: "GET", path: "/v1/usage", status: 503, body: "{}" });
    expect(invariantsOf(run)).toEqual([
      ["slots", null],
      ["slots", null],
      ["no-5xx", null],
      ["no-5xx", null],
    ]);
  });
});
