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

function setup(opts: { executedDelayMs?: number; startedDelayMs?: number } = {}) {
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
    ...opts,
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

describe("job.executed held back for the terminal event", () => {
  it("is never sent when the terminal event comes within the delay", async ({ expect }) => {
    const { posts, events, ok } = setup({ executedDelayMs: 25 });
    events.started("p-1");
    posts[0]!.answer(ok);
    events.executed(40);
    await vi.advanceTimersByTimeAsync(10);
    expect(posts).toHaveLength(1);
    const delivered = events.terminal({ type: "job.succeeded", outputs: [] });
    await vi.advanceTimersByTimeAsync(100);
    expect(posts.map((p) => p.event.type)).toEqual(["job.started", "job.succeeded"]);
    expect(posts[1]!.event.seq).toBe(1);
    posts[1]!.answer(ok);
    expect(await delivered).toBe("delivered");
  });

  it("is sent once the delay passes while the outputs are still uploading, ahead of the terminal event", async ({ expect }) => {
    const { posts, events, ok } = setup({ executedDelayMs: 25 });
    events.started("p-1");
    posts[0]!.answer(ok);
    events.executed(40);
    await vi.advanceTimersByTimeAsync(24);
    expect(posts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(posts[1]!.event).toMatchObject({ type: "job.executed", execution_ms: 40, seq: 1 });
    posts[1]!.answer(ok);
    await vi.advanceTimersByTimeAsync(0);
    events.terminal({ type: "job.succeeded", outputs: [] });
    await vi.advanceTimersByTimeAsync(0);
    expect(posts.map((p) => p.event.type)).toEqual(["job.started", "job.executed", "job.succeeded"]);
  });

  it("is never sent after the job was dropped", async ({ expect }) => {
    const { posts, events, ok } = setup({ executedDelayMs: 25 });
    events.started("p-1");
    posts[0]!.answer(ok);
    events.executed(40);
    events.close();
    await vi.advanceTimersByTimeAsync(100);
    expect(posts).toHaveLength(1);
  });
});

describe("job.started held back for the prompt's end", () => {
  it("is never sent when the terminal event comes within the delay", async ({ expect }) => {
    const { posts, events, ok } = setup({ startedDelayMs: 25 });
    events.started("p-1", { input_fetch_ms: 3 });
    await vi.advanceTimersByTimeAsync(10);
    void events.terminal({ type: "job.succeeded", outputs: [], input_fetch_ms: 3 });
    await vi.advanceTimersByTimeAsync(100);
    expect(posts.map((p) => [p.event.type, p.event.seq])).toEqual([["job.succeeded", 0]]);
    posts[0]!.answer(ok);
  });

  it("goes out first when anything else is sent meanwhile, and on its own after the delay", async ({ expect }) => {
    const early = setup({ startedDelayMs: 25 });
    early.events.started("p-1");
    early.events.progress({ value: 1, max: 10, node: "3" });
    expect(early.posts.map((p) => p.event.type)).toEqual(["job.started"]);
    early.posts[0]!.answer(early.ok);
    await vi.advanceTimersByTimeAsync(0);
    expect(early.posts.map((p) => [p.event.type, p.event.seq])).toEqual([
      ["job.started", 0],
      ["job.progress", 1],
    ]);

    const late = setup({ startedDelayMs: 25 });
    late.events.started("p-2");
    await vi.advanceTimersByTimeAsync(24);
    expect(late.posts).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(late.posts.map((p) => p.event.type)).toEqual(["job.started"]);
  });
});
