// Schema-driven fuzzing, the short run (the long one is `npm run fuzz`, bench/fuzz.ts): requests
// generated from the OpenAPI document this Worker serves — valid, mutated and hostile — against
// every public and admin route, with real D1, Durable Objects and R2. No answer may be a 5xx, and
// every error must be a documented problem (test/support/fuzz/oracle.ts). The seed is fixed, so a
// failure here is the same failure on every run; fast-check shrinks it before reporting.
import fc from "fast-check";
import { beforeAll, describe, it } from "vitest";
import { type Fixtures, setUpFixtures } from "../support/fuzz/fixtures.ts";
import type { OpenApiDocument } from "../support/fuzz/openapi-model.ts";
import { checkResponse } from "../support/fuzz/oracle.ts";
import type { FuzzCase } from "../support/fuzz/requests.ts";
import { Fuzzer } from "../support/fuzz/run.ts";
import { readResponse, type Send, type WireResponse } from "../support/fuzz/wire.ts";
import { ADMIN_TOKEN, BASE, call } from "../support/worker-helpers.ts";

const SEED = 2003;
const RUNS = 3_000;

// Absolute URLs, so paths such as `//v1//jobs` reach the Worker as they were generated. Header
// bytes above 0x7F become "?": workerd would re-encode them as UTF-8 anyway, with a warning per
// header (the bench sends them raw, over HTTP).
const ascii = (v: string) => v.replace(/[^\t\x20-\x7e]/g, "?");
const send: Send = async (req) =>
  readResponse(
    await call(BASE + req.target, {
      method: req.method,
      headers: new Headers(req.headers.map(([n, v]) => [n, ascii(v)])),
      ...(req.body !== undefined ? { body: req.body } : {}),
    }),
  );

let doc: OpenApiDocument;
let fixtures: Fixtures;

beforeAll(async () => {
  doc = (await (await call("/openapi.json")).json()) as OpenApiDocument;
  fixtures = await setUpFixtures(send, ADMIN_TOKEN, { waitForSuccessSeconds: 0, tag: "ci" });
});

describe("fuzzing every endpoint from the OpenAPI document", () => {
  it(`${RUNS} generated requests: no 5xx, every error a documented problem with a documented status`, async ({ expect }) => {
    const fuzzer = new Fuzzer(doc, { send, fixtures, tag: "ci", refreshEvery: 250 });
    await fc.assert(fuzzer.property(), { seed: SEED, numRuns: RUNS });
    // Each operation is drawn equally often; with this many runs, none may be missed.
    expect(fuzzer.unreached()).toEqual([]);
    expect(fuzzer.tally.sent).toBeGreaterThanOrEqual(RUNS);
    // 10-15 s alone, ~25 s amid the whole suite on two cores; the bound only ends a broken run.
  }, 120_000);
});

describe("the oracle", () => {
  const c: FuzzCase = { kind: "operation", op: "GET /v1/usage", method: "GET", target: "/v1/usage", headers: [], routed: true };
  const problem = (status: number, slug: string, extra: Record<string, unknown> = {}): WireResponse => ({
    status,
    headers: { "content-type": "application/problem+json" },
    text: JSON.stringify({ type: `https://comfyui-saas.dev/problems/${slug}`, title: "t", status, detail: "d", ...extra }),
  });
  const ops = () => new Fuzzer(doc, { send, fixtures, tag: "oracle", refreshEvery: 1_000_000 }).ops;
  const usage = () => ops().find((o) => o.key === "GET /v1/usage");

  it("passes a documented problem and a documented success", ({ expect }) => {
    expect(checkResponse(c, problem(401, "unauthenticated"), usage())).toBeUndefined();
    expect(checkResponse(c, { status: 200, headers: { "content-type": "application/json" }, text: "{}" }, usage())).toBeUndefined();
  });

  it("fails a 500, even a well-formed internal-error problem", ({ expect }) => {
    expect(checkResponse(c, problem(500, "internal-error"), usage())?.kind).toBe("5xx");
    expect(checkResponse(c, { status: 502, headers: {}, text: "Bad Gateway" }, usage())?.kind).toBe("5xx");
  });

  it("fails an error that is not problem+json, an unknown type, a status the type does not have, and an undocumented status", ({ expect }) => {
    expect(checkResponse(c, { status: 400, headers: { "content-type": "text/plain" }, text: "bad" }, usage())?.kind).toBe("not-problem");
    expect(checkResponse(c, { status: 400, headers: { "content-type": "application/problem+json" }, text: "{" }, usage())?.kind).toBe("not-problem");
    expect(checkResponse(c, problem(400, "no-such-problem"), usage())?.kind).toBe("unknown-type");
    expect(checkResponse(c, problem(400, "not-found"), usage())?.kind).toBe("status-mismatch");
    expect(checkResponse(c, problem(404, "not-found"), usage())?.kind).toBe("undocumented");
    // A stray path may get a 404 no operation documents.
    expect(checkResponse({ ...c, kind: "stray-path", routed: false }, problem(404, "not-found"), usage())).toBeUndefined();
  });

  it("accepts a documented non-problem report (GET /health's 503), not a 503 problem elsewhere", ({ expect }) => {
    const health = ops().find((o) => o.key === "GET /health");
    const down = { status: 503, headers: { "content-type": "application/json" }, text: '{"status":"down"}' };
    expect(checkResponse({ ...c, op: "GET /health", target: "/health" }, down, health)).toBeUndefined();
    expect(checkResponse(c, problem(503, "unavailable"), usage())?.kind).toBe("5xx");
  });

  it("makes fast-check fail, and shrink, when a service answers some request with a 500", async ({ expect }) => {
    // A service with one bug: any body with a NUL character is a 500; everything else is a 400
    // (which every operation but GET /health documents).
    const problem400 = JSON.stringify({ type: "https://comfyui-saas.dev/problems/invalid-query", status: 400, detail: "x" });
    const buggy: Send = async (req) => {
      if (typeof req.body === "string" && (req.body.includes("\\u0000") || req.body.includes("\u0000"))) {
        return { status: 500, headers: { "content-type": "application/problem+json" }, text: "{}" };
      }
      if (req.target.startsWith("/health")) return { status: 200, headers: { "content-type": "application/json" }, text: "{}" };
      return { status: 400, headers: { "content-type": "application/problem+json" }, text: problem400 };
    };
    const fuzzer = new Fuzzer(doc, { send: buggy, fixtures, tag: "oracle", refreshEvery: 1_000_000 });
    const details = await fc.check(fuzzer.property(), { seed: SEED, numRuns: 5_000 });
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toContain("5xx: 500");
    expect(details.numShrinks).toBeGreaterThan(0);
  });
});
