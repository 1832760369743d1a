// The retry policy as pure functions: which answers are retried, when, for how long, how
// Retry-After is honoured; the schedule setting's syntax; the job a running event shows; and
// the one-word webhook_status.
import { describe, it } from "vitest";
import type { JobRow } from "../../src/db/schema.ts";
import { jobAtEvent } from "../../src/webhooks/payload.ts";
import { DEFAULT_RETRY_SCHEDULE, decide, parseRetryAfter, parseSchedule, type SendResult } from "../../src/webhooks/schedule.ts";
import { webhookStatus } from "../../src/webhooks/status.ts";

const NOW = 1_700_000_000_000;
const schedule = parseSchedule(DEFAULT_RETRY_SCHEDULE)!;
const mid = () => 0.5; // no jitter
const response = (status: number, retryAfterMs: number | null = null): SendResult => ({ kind: "response", status, retryAfterMs });

describe("the default schedule", () => {
  it("is the Standard Webhooks one: immediately, then 5 s … 24 h, about three days in all", ({ expect }) => {
    expect(schedule).toEqual([5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400].map((s) => s * 1000));
    const total = schedule.reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeGreaterThan(72);
    expect(total / 3_600_000).toBeLessThan(80);
  });

  it("parses units and refuses nonsense", ({ expect }) => {
    expect(parseSchedule("1s, 2m,3h,4")).toEqual([1000, 120_000, 10_800_000, 4000]);
    for (const bad of ["", "0", "5x", "-5s", "1s,,2s", "8d", "1000h", Array(21).fill("1s").join(",")]) expect(parseSchedule(bad), bad).toBeNull();
  });
});

describe("decide", () => {
  it("2xx is delivered, 410 is gone", ({ expect }) => {
    for (const s of [200, 201, 202, 204, 299]) expect(decide(response(s), 0, schedule, NOW, mid)).toEqual({ state: "delivered" });
    expect(decide(response(410), 0, schedule, NOW, mid)).toEqual({ state: "gone" });
  });

  it("retries redirects, 4xx, 429, 5xx, timeouts and network errors on the schedule, then fails", ({ expect }) => {
    const failures: SendResult[] = [
      response(301),
      response(302),
      response(400),
      response(404),
      response(429),
      response(500),
      response(503),
      { kind: "timeout", afterMs: 15_000 },
      { kind: "network", message: "reset" },
      { kind: "refused", reason: "dns", detail: "x", permanent: false },
    ];
    for (const f of failures) {
      expect(decide(f, 0, schedule, NOW, mid)).toEqual({ state: "pending", nextAttemptAt: NOW + 5000 });
      expect(decide(f, 8, schedule, NOW, mid)).toEqual({ state: "pending", nextAttemptAt: NOW + 86_400_000 });
      expect(decide(f, 9, schedule, NOW, mid)).toEqual({ state: "failed" });
    }
  });

  it("gives up at once on a URL refused for a reason that cannot change", ({ expect }) => {
    expect(decide({ kind: "refused", reason: "scheme", detail: "x", permanent: true }, 0, schedule, NOW, mid)).toEqual({ state: "failed" });
  });

  it("jitters by at most 10 %", ({ expect }) => {
    expect(decide(response(500), 1, schedule, NOW, () => 0)).toEqual({ state: "pending", nextAttemptAt: NOW + 270_000 });
    expect(decide(response(500), 1, schedule, NOW, () => 1)).toEqual({ state: "pending", nextAttemptAt: NOW + 330_000 });
  });

  it("never retries sooner than Retry-After asks", ({ expect }) => {
    expect(decide(response(429, 120_000), 0, schedule, NOW, mid)).toEqual({ state: "pending", nextAttemptAt: NOW + 120_000 });
    // A shorter Retry-After does not make us retry sooner than the schedule.
    expect(decide(response(503, 1_000), 1, schedule, NOW, mid)).toEqual({ state: "pending", nextAttemptAt: NOW + 300_000 });
  });
});

describe("Retry-After", () => {
  it("reads seconds and HTTP dates, caps at a day, ignores junk", ({ expect }) => {
    expect(parseRetryAfter("120", NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
    expect(parseRetryAfter(new Date(NOW - 30_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter("99999999", NOW)).toBe(86_400_000);
    expect(parseRetryAfter("soon", NOW)).toBeNull();
    expect(parseRetryAfter(null, NOW)).toBeNull();
  });
});

describe("a job.running payload", () => {
  it("shows the job as it was when the attempt started, whatever happened since", ({ expect }) => {
    const ended = {
      id: "job_x",
      status: "succeeded",
      attempt: 2,
      progress: { value: 10, max: 10, node: "3" },
      finishedAt: NOW + 9000,
      error: null,
      cancelRequestedAt: NOW + 5000,
      startedAt: NOW - 1000,
    } as unknown as JobRow;
    expect(jobAtEvent(ended, { type: "job.running", jobAttempt: 1, occurredAt: NOW })).toMatchObject({
      status: "running",
      attempt: 1,
      progress: null,
      finishedAt: null,
      error: null,
      cancelRequestedAt: null,
      startedAt: NOW - 1000,
    });
    expect(jobAtEvent(ended, { type: "job.succeeded", jobAttempt: 2, occurredAt: NOW + 9000 })).toBe(ended);
  });
});

describe("webhook_status", () => {
  it("summarises the latest message", ({ expect }) => {
    expect(webhookStatus(false, undefined)).toBeNull();
    expect(webhookStatus(true, undefined)).toBe("idle");
    expect(webhookStatus(true, { state: "pending", attempts: 0, step: 0 })).toBe("pending");
    expect(webhookStatus(true, { state: "pending", attempts: 2, step: 2 })).toBe("retrying");
    expect(webhookStatus(true, { state: "pending", attempts: 3, step: 0 })).toBe("pending");
    expect(webhookStatus(true, { state: "delivered", attempts: 1, step: 0 })).toBe("delivered");
    expect(webhookStatus(true, { state: "failed", attempts: 10, step: 9 })).toBe("failed");
    expect(webhookStatus(true, { state: "gone", attempts: 1, step: 0 })).toBe("gone");
  });
});
