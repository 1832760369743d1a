// Parsing what clients send to watch a job: `Prefer: wait=N` (RFC 7240) and `Last-Event-ID`.
import { describe, expect, it } from "vitest";
import { preferredWaitSeconds } from "../../src/feed/prefer-wait.ts";
import { resumeAfter, sseEvent } from "../../src/feed/sse.ts";

describe("Prefer: wait", () => {
  it("reads wait=N among other preferences, capped, and ignores what it does not understand", () => {
    expect(preferredWaitSeconds("wait=10", 60)).toBe(10);
    expect(preferredWaitSeconds("respond-async, wait=5", 60)).toBe(5);
    expect(preferredWaitSeconds('wait="7"; foo=bar', 60)).toBe(7);
    expect(preferredWaitSeconds("Wait = 3", 60)).toBe(3);
    expect(preferredWaitSeconds("wait=600", 60)).toBe(60);
    for (const h of [undefined, "", "wait", "wait=abc", "wait=-1", "return=minimal", "wait=0"]) expect(preferredWaitSeconds(h, 60)).toBeUndefined();
  });
});

describe("Last-Event-ID", () => {
  it("takes the header, else the query parameter; a non-number is refused", () => {
    expect(resumeAfter(undefined, undefined)).toBeUndefined();
    expect(resumeAfter("12", "3")).toBe(12);
    expect(resumeAfter(undefined, "3")).toBe(3);
    expect(resumeAfter("x", undefined)).toBeNull();
    expect(resumeAfter("1e3", undefined)).toBeNull();
  });

  it("frames an event on one data line", () => {
    expect(new TextDecoder().decode(sseEvent(4, "job.progress", { a: "x\ny" }))).toBe('id: 4\nevent: job.progress\ndata: {"a":"x\\ny"}\n\n');
  });
});
