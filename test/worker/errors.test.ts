// Errors outside any handler: unknown routes, wrong methods, request ids and unexpected exceptions.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { call, createTenant, expectProblem, userHeaders } from "../support/worker-helpers.ts";

describe("routing errors", () => {
  it("404s unknown routes with and without credentials", async ({ expect }) => {
    const t = await createTenant();
    for (const headers of [{}, userHeaders(t.key, "u"), { Authorization: "Bearer garbage" }]) {
      for (const path of ["/", "/v2/jobs", "/v1/jobs/x/y/z", "/v1/admin/nope"]) {
        const body = await expectProblem(await call(path, { headers }), 404, "not-found");
        expect(body.request_id).toEqual(expect.any(String));
      }
    }
  });

  it("405s a known path with the wrong method, listing the allowed ones", async ({ expect }) => {
    const res = await call("/v1/jobs/job_aaaaaaaaaaaaaaaaaaaa", { method: "POST" });
    await expectProblem(res, 405, "method-not-allowed");
    expect(res.headers.get("Allow")?.split(", ").sort()).toEqual(["DELETE", "GET", "HEAD"]);
    await expectProblem(await call("/health", { method: "DELETE" }), 405, "method-not-allowed");
  });

  it("puts X-Request-ID on every response and reuses a sane incoming one", async ({ expect }) => {
    for (const res of [await call("/health"), await call("/nope"), await call("/v1/jobs")]) {
      expect(res.headers.get("X-Request-ID")).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect((await call("/health", { headers: { "X-Request-ID": "client-trace-123" } })).headers.get("X-Request-ID")).toBe("client-trace-123");
    expect((await call("/health", { headers: { "X-Request-ID": "bad id\twith spaces" } })).headers.get("X-Request-ID")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("unexpected exceptions", () => {
  it("answer 500 internal-error with the request id and no stack trace, and are logged", async ({ expect }) => {
    // A D1 binding that throws a programming error stands in for a bug in a handler.
    const broken = {
      prepare() {
        throw new TypeError("boom: secret internals");
      },
      batch() {
        throw new TypeError("boom");
      },
    };
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(" "));
    try {
      const app = createApp();
      const res = await app.request(
        "/v1/jobs",
        { headers: { Authorization: `Bearer csk_${"a".repeat(20)}_${"b".repeat(52)}`, "X-User-ID": "u" } },
        { ...env, DB: broken },
      );
      const body = await expectProblem(res, 500, "internal-error");
      expect(body.request_id).toBe(res.headers.get("X-Request-ID"));
      expect(JSON.stringify(body)).not.toMatch(/boom|secret|at .*\.ts/);
    } finally {
      console.error = original;
    }
    const line = errors.find((l) => l.includes("unhandled_error"));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: "error", event: "unhandled_error", error_message: "boom: secret internals" });
  });
});
