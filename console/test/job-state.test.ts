import type { Job, JobStreamEvent } from "comfyui-saas-client";
import { describe, it } from "vitest";
import { applyEvent, fromJob, type LiveJob, remaining, settle } from "../src/live/job-state.ts";

const AT = "2026-12-01T00:00:00.000Z";

function job(over: Partial<Job> = {}): Job {
  return {
    id: "job_1",
    status: "queued",
    user_id: "u",
    created_at: AT,
    started_at: null,
    finished_at: null,
    cancel_requested_at: null,
    queue_deadline_at: AT,
    attempt: 0,
    pool: "default",
    progress: null,
    queue_position: 2,
    estimated_start_seconds: 30,
    estimated_finish_seconds: 60,
    waiting_for: null,
    outputs: [],
    error: null,
    metadata: null,
    webhook: null,
    webhook_status: null,
    ...over,
  } as Job;
}

const out = (name: string, attempt: number) =>
  ({
    id: 0,
    type: "job.output",
    data: { name, content_type: "image/png", size: 3, sha256: "x", kind: "images", node_id: "9", url: `/o/${name}`, attempt, at: AT },
  }) as JobStreamEvent;
const progress = (attempt: number, percent: number | null, value = 1) =>
  ({ id: 0, type: "job.progress", data: { attempt, node: "3", node_type: "KSampler", value, max: 20, percent, at: AT } }) as JobStreamEvent;
const running = (attempt: number) => ({ id: 0, type: "job.running", data: { status: "running", attempt, at: AT } }) as JobStreamEvent;
const queued = (attempt: number, reason: "submitted" | "retry") =>
  ({ id: 0, type: "job.queued", data: { status: "queued", attempt, reason, at: AT } }) as JobStreamEvent;

const fold = (s: LiveJob, events: JobStreamEvent[]) => events.reduce((acc, e) => applyEvent(acc, e, 1_000), s);

describe("a job's live state", () => {
  it("follows a job from the queue to success: position, running, progress that never goes back, outputs, 100 %", ({ expect }) => {
    let s = fromJob(job(), 0);
    expect(s).toMatchObject({ status: "queued", position: 2, estimatedStartSeconds: 30, percent: null });
    s = fold(s, [queued(0, "submitted"), { id: 0, type: "job.position", data: { position: 0, estimated_start_seconds: 5, at: AT } } as JobStreamEvent]);
    expect(s).toMatchObject({ position: 0, estimatedStartSeconds: 5 });
    s = fold(s, [running(1), progress(1, 40, 8), progress(1, 25, 9)]);
    expect(s).toMatchObject({ status: "running", attempt: 1, position: null, percent: 40, nodeType: "KSampler", step: { value: 9, max: 20 } });
    s = fold(s, [
      { id: 0, type: "job.preview", data: { attempt: 1, node: "3", content_type: "image/jpeg", url: "/p/1", at: AT } } as JobStreamEvent,
      out("a.png", 1),
      out("a.png", 1),
    ]);
    expect(s.previewUrl).toBe("/p/1");
    expect(s.outputs.map((o) => o.name)).toEqual(["a.png"]);
    s = applyEvent(
      s,
      {
        id: 0,
        type: "job.succeeded",
        data: {
          status: "succeeded",
          attempt: 1,
          finished_at: AT,
          error: null,
          outputs: [{ name: "a.png", content_type: "image/png", size: 3, sha256: "x", kind: "images", node_id: "9", url: "/fresh" }],
          timings: {},
        },
      } as JobStreamEvent,
      2_000,
    );
    expect(s).toMatchObject({ status: "succeeded", percent: 100, error: null, estimatedFinishSeconds: null });
    expect(s.outputs).toEqual([{ name: "a.png", content_type: "image/png", size: 3, kind: "images", url: "/fresh" }]);
    // Nothing changes an ended job.
    expect(applyEvent(s, progress(1, 10))).toBe(s);
  });

  it("starts afresh on a retry and ignores what the earlier attempt still sends", ({ expect }) => {
    let s = fold(fromJob(job(), 0), [running(1), progress(1, 70), out("old.png", 1), queued(2, "retry")]);
    expect(s).toMatchObject({ status: "queued", attempt: 2, percent: null, outputs: [] });
    s = fold(s, [progress(1, 90), out("late.png", 1), running(2), progress(2, 10)]);
    expect(s).toMatchObject({ status: "running", attempt: 2, percent: 10, outputs: [] });
    // A position is about the queue: ignored while running.
    expect(applyEvent(s, { id: 0, type: "job.position", data: { position: 3, estimated_start_seconds: 9, at: AT } } as JobStreamEvent)).toBe(s);
  });

  it("shows the error of a failed job, and keeps a percent the host does not send", ({ expect }) => {
    let s = fold(fromJob(job({ status: "running", attempt: 1, progress: { value: 2, max: 4, node: "3", node_type: "X", percent: 50 } }), 0), [
      progress(1, null, 3),
    ]);
    expect(s.percent).toBe(50);
    s = applyEvent(s, {
      id: 0,
      type: "job.failed",
      data: { status: "failed", attempt: 1, finished_at: AT, error: { code: "execution_error", message: "boom" }, outputs: [], timings: {} },
    } as JobStreamEvent);
    expect(s).toMatchObject({ status: "failed", percent: 50, error: { code: "execution_error", message: "boom" } });
  });

  it("counts an estimate down from when it was made, never below zero", ({ expect }) => {
    expect(remaining(30, 1_000, 11_000)).toBe(20);
    expect(remaining(30, 1_000, 99_000)).toBe(0);
    expect(remaining(null, 0, 0)).toBeNull();
  });

  it("settles on the recorded end, keeping the links of outputs already shown", ({ expect }) => {
    const shown = fold(fromJob(job(), 0), [running(1), out("a.png", 1)]);
    const o = (name: string, url: string) => ({ name, content_type: "image/png", size: 3, sha256: "x", kind: "images", url });
    const recorded = fromJob(job({ status: "succeeded", attempt: 1, outputs: [o("a.png", "/new-a"), o("b.png", "/new-b")] }), 5);
    const s = settle(shown, recorded);
    expect(s.status).toBe("succeeded");
    expect(s.outputs.map((x) => [x.name, x.url])).toEqual([
      ["a.png", "/o/a.png"],
      ["b.png", "/new-b"],
    ]);
  });
});
