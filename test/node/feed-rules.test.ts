// What a job's feed records (src/feed/rules.ts), whatever order its publishers' events arrive in.
import { describe, expect, it } from "vitest";
import type { FeedInput } from "../../src/feed/events.ts";
import { admit, type FeedState } from "../../src/feed/rules.ts";

const origin = { createdAt: 1_000, pool: "default" };
const MAX = 100;

function play(inputs: FeedInput[], max = MAX): { state: FeedState | undefined; recorded: FeedInput[] } {
  let state: FeedState | undefined;
  const recorded: FeedInput[] = [];
  for (const input of inputs) {
    const r = admit(state, input, origin, max);
    state = r.state;
    recorded.push(...r.record);
  }
  return { state, recorded };
}

const running = (attempt: number, at = 2_000): FeedInput => ({ type: "job.running", attempt, at });
const progress = (attempt: number, percent: number | null): FeedInput => ({
  type: "job.progress",
  attempt,
  node: "3",
  node_type: "KSampler",
  value: 1,
  max: 2,
  percent,
  at: 3_000,
});
const succeeded: FeedInput = { type: "job.succeeded", attempt: 1, at: 9_000, error: null, timings: null, outputs: [] };

describe("a job's feed", () => {
  it("starts with job.queued, synthesized from the job's creation when another event comes first", () => {
    const { recorded } = play([running(1)]);
    expect(recorded.map((e) => e.type)).toEqual(["job.queued", "job.running"]);
    expect(recorded[0]).toEqual({ type: "job.queued", attempt: 0, reason: "submitted", at: 1_000 });
    // The submit's own job.queued is recorded once.
    expect(
      play([
        { type: "job.queued", attempt: 0, reason: "submitted", at: 5 },
        { type: "job.queued", attempt: 0, reason: "submitted", at: 6 },
      ]).recorded,
    ).toHaveLength(1);
  });

  it("records nothing after a terminal event", () => {
    const { recorded, state } = play([
      running(1),
      succeeded,
      progress(1, 50),
      { type: "job.failed", attempt: 1, at: 1, error: null, timings: null, outputs: [] },
    ]);
    expect(recorded.map((e) => e.type)).toEqual(["job.queued", "job.running", "job.succeeded"]);
    expect(state?.status).toBe("ended");
  });

  it("keeps an attempt's progress, previews and outputs only while it is the running one", () => {
    const late = play([
      running(1),
      { type: "job.queued", attempt: 1, reason: "retry", at: 4_000 },
      progress(1, 40),
      running(2),
      progress(1, 60),
      progress(2, 10),
      { type: "job.preview", attempt: 1, node: "3", content_type: "image/jpeg", at: 5 },
      { type: "job.output", attempt: 2, at: 6, name: "a.png", content_type: "image/png", size: 1, sha256: "0".repeat(64), kind: "images", node_id: "9" },
    ]);
    expect(late.recorded.map((e) => `${e.type}:${"attempt" in e ? e.attempt : ""}`)).toEqual([
      "job.queued:0",
      "job.running:1",
      "job.queued:1",
      "job.running:2",
      "job.progress:2",
      "job.output:2",
    ]);
  });

  it("never lets percent go down within an attempt, and starts again with a new one", () => {
    const { recorded } = play([
      running(1),
      progress(1, 30),
      progress(1, 20),
      progress(1, null),
      { type: "job.queued", attempt: 1, reason: "retry", at: 1 },
      running(2),
      progress(2, 5),
    ]);
    const percents = recorded.filter((e) => e.type === "job.progress").map((e) => (e as { percent: number | null }).percent);
    expect(percents).toEqual([30, 30, 30, 5]);
  });

  it("records a position only while queued and only when it changed", () => {
    const pos = (position: number): FeedInput => ({ type: "job.position", position, estimated_start_seconds: null, at: 1 });
    const { recorded } = play([pos(3), pos(3), pos(2), running(1), pos(1)]);
    expect(recorded.map((e) => (e.type === "job.position" ? `pos${e.position}` : e.type))).toEqual(["job.queued", "pos3", "pos2", "job.running"]);
  });

  it("stops recording the frequent kinds past the cap, never the lifecycle or outputs", () => {
    const inputs: FeedInput[] = [running(1), ...Array.from({ length: 10 }, (_, i) => progress(1, i))];
    inputs.push(
      { type: "job.output", attempt: 1, at: 6, name: "a.png", content_type: "image/png", size: 1, sha256: "0".repeat(64), kind: "images", node_id: "9" },
      succeeded,
    );
    const { recorded } = play(inputs, 5);
    expect(recorded.map((e) => e.type)).toEqual(["job.queued", "job.running", "job.progress", "job.progress", "job.progress", "job.output", "job.succeeded"]);
  });
});
