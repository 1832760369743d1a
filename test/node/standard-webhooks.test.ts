// Standard Webhooks signing against the spec's published vectors, and interop with the
// `standardwebhooks` npm package (a verifier we did not write).
import { Webhook } from "standardwebhooks";
import { describe, it } from "vitest";
import { newSecret, signatureHeader, signWebhook, verifyWebhook } from "../../src/protocol/standard-webhooks.ts";

const A = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  ts: 1614265330,
  body: '{"test": 2432232314}',
  sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const B = {
  secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
  id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
  ts: 1649367553,
  body: '{"email":"test@example.com","username":"test_user"}',
  sig: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
};
const headers = (v: typeof A, sig = v.sig) => ({ "webhook-id": v.id, "webhook-timestamp": String(v.ts), "webhook-signature": sig });
const at = (v: typeof A) => v.ts * 1000;

describe("published vectors", () => {
  it.for([
    ["A", A],
    ["B", B],
  ] as const)("signs vector %s exactly", async ([, v], { expect }) => {
    expect(await signatureHeader([v.secret], v.id, v.ts, v.body)).toBe(v.sig);
  });

  it.for([
    ["A", A],
    ["B", B],
  ] as const)("verifies vector %s", async ([, v], { expect }) => {
    expect(await verifyWebhook([v.secret], headers(v), v.body, { now: at(v) })).toEqual({ ok: true, id: v.id, timestamp: v.ts });
  });

  it.for([
    ["a wrong signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="],
    ["an empty v1", "v1,"],
    ["a truncated signature", A.sig.slice(0, 8)],
    ["only an unknown version", "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="],
  ] as const)("rejects %s", async ([, sig], { expect }) => {
    expect(await verifyWebhook([A.secret], headers(A, sig), A.body, { now: at(A) })).toEqual({ ok: false, reason: "no_matching_signature" });
  });

  it("accepts a list whose third entry is valid, skipping unknown versions", async ({ expect }) => {
    const list = `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc ${A.sig}`;
    expect((await verifyWebhook([A.secret], headers(A, list), A.body, { now: at(A) })).ok).toBe(true);
  });

  it("rejects a tampered body", async ({ expect }) => {
    expect((await verifyWebhook([A.secret], headers(A), '{"test": 2432232315}', { now: at(A) })).ok).toBe(false);
  });

  it("enforces the timestamp tolerance both ways", async ({ expect }) => {
    expect(await verifyWebhook([A.secret], headers(A), A.body, { now: at(A) + 301_000 })).toEqual({ ok: false, reason: "too_old" });
    expect(await verifyWebhook([A.secret], headers(A), A.body, { now: at(A) - 301_000 })).toEqual({ ok: false, reason: "too_new" });
    expect((await verifyWebhook([A.secret], headers(A), A.body, { now: at(A) + 299_000 })).ok).toBe(true);
  });

  it("rejects a non-numeric timestamp and missing headers", async ({ expect }) => {
    expect(await verifyWebhook([A.secret], { ...headers(A), "webhook-timestamp": "hello" }, A.body, { now: at(A) })).toEqual({
      ok: false,
      reason: "bad_timestamp",
    });
    for (const drop of ["webhook-id", "webhook-timestamp", "webhook-signature"] as const) {
      const h: Record<string, string | undefined> = { ...headers(A) };
      delete h[drop];
      expect(await verifyWebhook([A.secret], h, A.body, { now: at(A) })).toEqual({ ok: false, reason: "missing_headers" });
    }
  });

  it("refuses to sign with an empty secret", async ({ expect }) => {
    await expect(signatureHeader(["whsec_"], "msg_1", 1, "x")).rejects.toThrow(/empty/);
  });
});

describe("rotation and interop", () => {
  it("signs with every active secret; a verifier holding either accepts", async ({ expect }) => {
    const [oldS, newS] = [newSecret(), newSecret()];
    const h = await signWebhook([oldS, newS], '{"x":1}');
    expect(h["webhook-signature"].split(" ")).toHaveLength(2);
    expect((await verifyWebhook([oldS], h, '{"x":1}')).ok).toBe(true);
    expect((await verifyWebhook([newS], h, '{"x":1}')).ok).toBe(true);
    expect((await verifyWebhook([newSecret()], h, '{"x":1}')).ok).toBe(false);
  });

  it("what we sign verifies with the standardwebhooks package, and tampering does not", async ({ expect }) => {
    const secret = newSecret();
    const body = JSON.stringify({ type: "job.succeeded", data: { id: "job_x" } });
    const h = await signWebhook([secret], body);
    expect(new Webhook(secret).verify(body, h)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace("x", "y"), h)).toThrow();
  });

  it("verifies what the standardwebhooks package signs", async ({ expect }) => {
    const secret = newSecret();
    const wh = new Webhook(secret);
    const now = new Date();
    const sig = wh.sign("msg_interop", now, '{"a":1}');
    const verdict = await verifyWebhook(
      [secret],
      { "webhook-id": "msg_interop", "webhook-timestamp": String(Math.floor(now.getTime() / 1000)), "webhook-signature": sig },
      '{"a":1}',
    );
    expect(verdict.ok).toBe(true);
  });
});
