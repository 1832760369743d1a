// The client's retry policy (packages/client/src/retry.ts) and SSE parser (sse.ts), on plain values:
// a 429 is always retried, a 503 or a network error only when repeating cannot do anything twice,
// waits follow Retry-After; the parser follows the WHATWG rules.
import { describe, expect, it } from "vitest";
import { retryAfterMs, retryingFetch } from "../../packages/client/src/retry.ts";
import { SseParser } from "../../packages/client/src/sse.ts";

function scripted(answers: (number | "network")[]) {
  const seen: string[] = [];
  const waits: number[] = [];
  const base = async (r: Request) => {
    seen.push(`${r.method} ${await r.text()}`);
    const a = answers.shift() ?? 200;
    if (a === "network") throw new TypeError("fetch failed");
    return new Response(null, { status: a, headers: a === 429 ? { "Retry-After": "3" } : {} });
  };
  const fetcher = retryingFetch(base, { attempts: 3, baseDelayMs: 100, maxDelayMs: 10_000 }, async (ms) => {
    waits.push(ms);
  });
  return { fetcher, seen, waits };
}

describe("retries", () => {
  it("retries a 429 after its Retry-After, whatever the method", async () => {
    const { fetcher, seen, waits } = scripted([429, 202]);
    const res = await fetcher(new Request("https://x/v1/jobs", { method: "POST", body: "{}" }));
    expect(res.status).toBe(202);
    expect(seen).toEqual(["POST {}", "POST {}"]);
    expect(waits).toEqual([3000]);
  });

  it("retries a 503 or a lost connection only for a GET or a request with an Idempotency-Key", async () => {
    const post = scripted([503, 202]);
    expect((await post.fetcher(new Request("https://x/v1/uploads", { method: "POST", body: "a" }))).status).toBe(503);
    expect(post.seen).toHaveLength(1);
    const keyed = scripted(["network", 503, 202]);
    const res = await keyed.fetcher(new Request("https://x/v1/jobs", { method: "POST", body: "b", headers: { "Idempotency-Key": "k" } }));
    expect(res.status).toBe(202);
    expect(keyed.seen).toEqual(["POST b", "POST b", "POST b"]);
    const unkeyed = scripted(["network"]);
    await expect(unkeyed.fetcher(new Request("https://x/v1/uploads", { method: "POST", body: "c" }))).rejects.toThrow("fetch failed");
  });

  it("gives the last answer after the last try", async () => {
    const { fetcher, seen } = scripted([503, 503, 503, 200]);
    expect((await fetcher(new Request("https://x/v1/jobs/j"))).status).toBe(503);
    expect(seen).toHaveLength(3);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("5")).toBe(5000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe("SseParser", () => {
  it("splits events across chunks, keeps ids, counts comments and reads retry", () => {
    const p = new SseParser();
    expect(p.push("retry: 2000\n\n: keep-alive\n\nid: 1\nevent: job.queued\nda")).toEqual([]);
    expect(p.push('ta: {"a":1}\n\nid: 2\r\nevent: job.running\r\ndata: {}\r\n\r\n')).toEqual([
      { id: "1", event: "job.queued", data: '{"a":1}' },
      { id: "2", event: "job.running", data: "{}" },
    ]);
    expect(p.retryMs).toBe(2000);
    expect(p.comments).toBe(1);
    expect(p.lastEventId).toBe("2");
  });
});
