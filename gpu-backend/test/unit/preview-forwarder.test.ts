// The preview forwarder's rules, on a fake clock and a fake upload the test answers by hand: one
// upload in flight, one start per interval, the latest frame wins, big frames skipped, nothing
// retried, a refusal stops the job's previews — and every frame is counted once.
import { afterEach, beforeEach, describe, it, vi } from "vitest";
import type { Preview } from "../../src/comfy/preview.ts";
import type { EdgeResult } from "../../src/edge/client.ts";
import { PreviewForwarder } from "../../src/jobs/previews.ts";
import { createLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";

const INTERVAL = 100;

interface Call {
  frame: Preview;
  signal: AbortSignal;
  answer: (result: EdgeResult<null>) => void;
}

function setup(opts: { maxBytes?: number } = {}) {
  const calls: Call[] = [];
  const logs: string[] = [];
  const metrics = createMetrics();
  const stop = new AbortController();
  const forwarder = new PreviewForwarder({
    terms: { min_interval_ms: INTERVAL, max_bytes: opts.maxBytes ?? 1024 },
    signal: stop.signal,
    upload: (frame, signal) =>
      new Promise<EdgeResult<null>>((answer) => {
        calls.push({ frame, signal, answer });
        signal.addEventListener("abort", () => answer({ ok: false, reason: "aborted" }), { once: true });
      }),
    log: createLogger("debug", (line) => logs.push(line)),
    metrics,
  });
  const counts = async () => {
    const sent = (await metrics.previewsSent.get()).values[0]?.value ?? 0;
    const dropped = Object.fromEntries((await metrics.previewsDropped.get()).values.map((v) => [String(v.labels.reason), v.value]));
    return { sent, dropped };
  };
  return { forwarder, calls, logs, counts, stop };
}

let n = 0;
const frame = (size = 16): Preview => ({ contentType: "image/jpeg", bytes: Buffer.alloc(size, n++ % 256), nodeId: "3" });
const ok: EdgeResult<null> = { ok: true, status: 204, value: null };
/** Lets the forwarder see an answer (its handlers run on promise jobs). */
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("preview forwarder", () => {
  it("sends the first frame at once, then only the latest, one interval after the last start", async ({ expect }) => {
    const { forwarder, calls, counts } = setup();
    const [a, b, c] = [frame(), frame(), frame()];
    forwarder.offer(a);
    expect(calls.map((x) => x.frame)).toEqual([a]);
    calls[0]!.answer(ok);
    await settle();
    forwarder.offer(b);
    forwarder.offer(c); // replaces b, still unsent
    await vi.advanceTimersByTimeAsync(INTERVAL - 1);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((x) => x.frame)).toEqual([a, c]);
    calls[1]!.answer(ok);
    await settle();
    expect(await counts()).toEqual({ sent: 2, dropped: { replaced: 1 } });
  });

  it("keeps one upload in flight: a slow one holds the next frame however long it takes", async ({ expect }) => {
    const { forwarder, calls, counts } = setup();
    forwarder.offer(frame());
    const latest = frame();
    forwarder.offer(frame());
    forwarder.offer(latest);
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(calls).toHaveLength(1);
    calls[0]!.answer(ok);
    await settle(); // the interval has long passed: the waiting frame goes at once
    expect(calls.map((x) => x.frame)).toEqual([calls[0]!.frame, latest]);
    calls[1]!.answer(ok);
    await settle();
    expect(await counts()).toEqual({ sent: 2, dropped: { replaced: 1 } });
  });

  it("skips frames over max_bytes", async ({ expect }) => {
    const { forwarder, calls, counts } = setup({ maxBytes: 1024 });
    forwarder.offer(frame(1025));
    expect(calls).toHaveLength(0);
    forwarder.offer(frame(1024));
    expect(calls).toHaveLength(1);
    expect(await counts()).toEqual({ sent: 0, dropped: { too_large: 1 } });
  });

  it("never retries: a failed upload loses that frame only", async ({ expect }) => {
    const { forwarder, calls, counts } = setup();
    forwarder.offer(frame());
    calls[0]!.answer({ ok: false, reason: "unavailable", detail: "HTTP 503" });
    await settle();
    const next = frame();
    forwarder.offer(next);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(calls.map((x) => x.frame)).toEqual([calls[0]!.frame, next]);
    calls[1]!.answer(ok);
    await settle();
    expect(await counts()).toEqual({ sent: 1, dropped: { failed: 1 } });
  });

  it.for([
    ["a 4xx", { ok: false, reason: "rejected", status: 413, detail: "too big" }, "rejected"],
    ["a 409 (stale lease)", { ok: false, reason: "stale", status: 409 }, "stale"],
  ] as const)("stops the job's previews on %s, logging it once", async ([, answer, reason], { expect }) => {
    const { forwarder, calls, counts, logs } = setup();
    forwarder.offer(frame());
    forwarder.offer(frame()); // waiting when the refusal comes
    calls[0]!.answer(answer);
    await settle();
    forwarder.offer(frame());
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(calls).toHaveLength(1);
    expect(logs.filter((l) => l.includes('"previews_stopped"'))).toHaveLength(1);
    expect(await counts()).toEqual({ sent: 0, dropped: { [reason]: 1, stopped: 2 } });
  });

  it("close drops the waiting frame, sends nothing more and resolves once the upload in flight is answered", async ({ expect }) => {
    const { forwarder, calls, counts } = setup();
    forwarder.offer(frame());
    forwarder.offer(frame());
    let closed = false;
    void forwarder.close().then(() => (closed = true));
    forwarder.offer(frame());
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect([calls.length, closed]).toEqual([1, false]);
    calls[0]!.answer(ok);
    await settle();
    expect(closed).toBe(true);
    expect(calls).toHaveLength(1);
    expect(await counts()).toEqual({ sent: 1, dropped: { ended: 2 } });
    await forwarder.close(); // again: nothing in flight, resolves at once
  });

  it("the job's stop cuts the upload in flight", async ({ expect }) => {
    const { forwarder, calls, counts, stop } = setup();
    forwarder.offer(frame());
    stop.abort(new Error("cancelled"));
    expect(calls[0]!.signal.aborted).toBe(true);
    await settle();
    forwarder.offer(frame());
    await forwarder.close();
    expect(calls).toHaveLength(1);
    expect(await counts()).toEqual({ sent: 0, dropped: { ended: 2 } });
  });
});
