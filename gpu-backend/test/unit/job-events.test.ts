// The order and throttling of one attempt's events (src/jobs/events.ts), on a fake clock and an
// edge the test answers by hand: while an event is in flight, newer progress replaces the unsent
// progress instead of queueing behind it, and nothing overtakes job.executed.
import { afterEach, beforeEach, describe, it, vi } from "vitest";
import type { EdgeClient, EdgeResult } from "../../src/edge/client.ts";
import { JobEvents } from "../../src/jobs/events.ts";
import { createLogger } from "../../src/log.ts";

interface Post {
  event: Record<string, any>;
  answer: (r: EdgeResult<{ applied: boolean }>) => void;
}

function setup() {
  const posts: Post[] = [];
  const edge = {
    postJson: (_kind: string, _path: string, event: Record<string, any>) =>
      new Promise<EdgeResult<{ applied: boolean }>>((answer) => posts.push({ event: structuredClone(event), answer })),
  } as unknown as EdgeClient;
  const events = new JobEvents({
    ref: { job_id: "job_1", attempt: 1, lease_id: "lease-0001" },
    hostId: "gpu-1",
    edge,
    progressIntervalMs: 100,
    onStale: () => {},
    onDelivered: () => {},
    log: createLogger("error", () => {}),
  });
  const ok = { ok: true as const, status: 200, value: { applied: true } };
  return { posts, events, ok };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("job events", () => {
  it("keeps at most one unsent progress event, the latest, behind a slow answer", async ({ expect }) => {
    const { posts, events, ok } = setup();
    events.progress({ value: 1, max: 10, node: "3" });
    expect(posts).toHaveLength(1);
    for (let v = 2; v <= 9; v++) {
      await vi.advanceTimersByTimeAsync(100);
      events.progress({ value: v, max: 10, node: "3" });
    }
    await vi.advanceTimersByTimeAsync(100);
    // Still only the first in flight; everything since waits as one event.
    expect(posts).toHaveLength(1);
    posts[0]!.answer(ok);
    await vi.advanceTimersByTimeAsync(0);
    expect(posts.map((p) => p.event.progress.value)).toEqual([1, 9]);
    expect(posts.map((p) => p.event.seq)).toEqual([0, 1]);
    events.executed(1234);
    posts[1]!.answer(ok);
    await vi.advanceTimersByTimeAsync(0);
    expect(posts[2]!.event).toMatchObject({ type: "job.executed", execution_ms: 1234, seq: 2 });
  });
});
