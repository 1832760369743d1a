// The long fuzz run (issue 20): `npm run fuzz -- --runs 100000 [--seed N] [--concurrency 8]
// [--edge URL]`. Requests generated from the OpenAPI document the edge serves (the same generator
// and oracle as test/worker/fuzz.test.ts, test/support/fuzz/), sent over HTTP to a real
// `wrangler dev` with one gpu-backend and ComfyUI emulator (so jobs really run), or to `--edge`
// (its admin token in FUZZ_ADMIN_TOKEN). Prints JSON lines: progress, one line per distinct
// violation with its shrunk request, then a summary; exits 1 on any violation or hung request.
//
// Concurrency without losing replay: the run is `concurrency` fast-check chains (seeds seed,
// seed+1, …), each sequential. A chain records violations instead of stopping; at the end each
// distinct one is replayed from its chain's seed and run index (fast-check's `path`) and shrunk.
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { setUpFixtures } from "../test/support/fuzz/fixtures.ts";
import type { OpenApiDocument } from "../test/support/fuzz/openapi-model.ts";
import type { Violation } from "../test/support/fuzz/oracle.ts";
import { describeCase, type FuzzCase } from "../test/support/fuzz/requests.ts";
import { describeResponse, Fuzzer } from "../test/support/fuzz/run.ts";
import { BODY_READ_CAP, type Send, type WireRequest, type WireResponse } from "../test/support/fuzz/wire.ts";
import { stopStacks, withStack } from "./lib/stacks.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    seed: { type: "string", default: "20" },
    concurrency: { type: "string", default: "8" },
    progress: { type: "string", default: "5000" },
    edge: { type: "string" },
  },
});
const RUNS = Number(values.runs);
const SEED = Number(values.seed);
const CONCURRENCY = Math.max(1, Number(values.concurrency));
const PROGRESS = Math.max(1, Number(values.progress));
/** A request still unanswered after this is a violation of its own (a hang), and is abandoned. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Distinct violations replayed and shrunk at the end, each within this time. */
const SHRINK_MAX = 10;
const SHRINK_TIME_MS = 60_000;

if (!Number.isInteger(RUNS) || RUNS < 1 || !Number.isInteger(SEED)) {
  console.error("usage: npm run fuzz -- --runs N [--seed N] [--concurrency N] [--progress N] [--edge URL]");
  process.exit(2);
}

const print = (line: Record<string, unknown>) => console.log(JSON.stringify({ bench: "fuzz", ...line }));

/**
 * Headers the generator uses to test workerd's in-process fetch that would break HTTP framing on
 * a socket (the HTTP server, not the Worker, would answer): Node sets the real length.
 */
const FRAMING = new Set(["content-length", "transfer-encoding", "expect"]);

function httpSender(base: string): Send {
  const url = new URL(base);
  const send = url.protocol === "https:" ? httpsRequest : request;
  return (req: WireRequest) =>
    new Promise<WireResponse>((resolve, reject) => {
      // Raw header pairs (repeats kept, bytes as they are); with them Node adds no Host of its own.
      // And, as fetch does, an explicit length for no body (Node would send an empty chunked one).
      const body = req.body === undefined ? undefined : typeof req.body === "string" ? Buffer.from(req.body) : Buffer.from(req.body);
      const headers = [["Host", url.host], ["Content-Length", String(body?.length ?? 0)], ...req.headers.filter(([n]) => !FRAMING.has(n.toLowerCase()))];
      if (body === undefined && (req.method === "GET" || req.method === "HEAD")) headers.splice(1, 1);
      const r = send(
        { host: url.hostname, port: url.port, method: req.method, path: req.target, headers: headers.flat(), timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          const out: Record<string, string> = {};
          for (const [n, v] of Object.entries(res.headers)) out[n] = Array.isArray(v) ? v.join(", ") : (v ?? "");
          const done = (text: string) => resolve({ status: res.statusCode ?? 0, headers: out, text });
          // An event stream stays open while its job lives: judge it by its head, as in workerd.
          if ((out["content-type"] ?? "").startsWith("text/event-stream")) {
            res.destroy();
            return done("");
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (d: Buffer) => {
            size += d.length;
            if (size <= BODY_READ_CAP) chunks.push(d);
          });
          res.on("end", () => done(Buffer.concat(chunks).toString("utf8")));
          res.on("error", reject);
        },
      );
      r.on("timeout", () => r.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      r.on("error", reject);
      r.end(body);
    });
}

interface Found {
  violation: Violation;
  chain: number;
  index: number;
  c: FuzzCase;
  res: WireResponse;
}

async function fuzz(base: string, adminToken: string, waitForSuccessSeconds: number): Promise<number> {
  const started = performance.now();
  const send = httpSender(base);
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDocument;
  const tag = `b${SEED}`.toLowerCase();
  const fixtures = await setUpFixtures(send, adminToken, { waitForSuccessSeconds, tag });
  const fuzzer = new Fuzzer(doc, { send, fixtures, tag, refreshEvery: 500 });
  print({ setup: true, operations: fuzzer.ops.length, succeeded_job: fixtures.succeededJobId !== undefined, seconds: (performance.now() - started) / 1000 });

  const found = new Map<string, Found>();
  let hung = 0;
  let transportErrors = 0;
  const t0 = performance.now();
  const progress = () => {
    const n = fuzzer.tally.sent;
    if (n % PROGRESS === 0) {
      print({
        progress: n,
        of: RUNS,
        seconds: Math.round((performance.now() - t0) / 100) / 10,
        "5xx": fuzzer.tally.violations["5xx"] ?? 0,
        violations: found.size,
        hung,
      });
    }
  };
  const chain = async (k: number, runs: number) => {
    let index = 0;
    await fc.assert(
      fc.asyncProperty(fuzzer.arbitrary, async (c) => {
        const at = index++;
        try {
          const { res, violation } = await fuzzer.run(c);
          if (violation) {
            const key = `${violation.kind} ${c.kind === "operation" ? c.op : c.kind} ${res.status}`;
            if (!found.has(key)) {
              found.set(key, { violation, chain: k, index: at, c, res });
              print({ violation: violation.kind, key, message: violation.message, request: describeCase(c), response: describeResponse(res) });
            }
          }
        } catch (err) {
          // No answer at all: a hang (timeout) is the server's fault; anything else is logged too.
          const message = err instanceof Error ? err.message : String(err);
          if (message.startsWith("no answer")) hung++;
          else transportErrors++;
          if (hung + transportErrors <= 20) print({ transport_error: message, request: describeCase(c) });
        }
        progress();
      }),
      { seed: SEED + k, numRuns: runs },
    );
  };
  const per = Math.floor(RUNS / CONCURRENCY);
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, k) => chain(k, k === 0 ? RUNS - per * (CONCURRENCY - 1) : per)));
  const seconds = (performance.now() - t0) / 1000;

  // Each distinct violation again, from its own chain's seed and run, shrunk by fast-check.
  for (const f of [...found.values()].slice(0, SHRINK_MAX)) {
    const replay = await fc.check(
      fc.asyncProperty(fuzzer.arbitrary, async (c) => {
        const { violation } = await fuzzer.run(c);
        return !(violation && violation.kind === f.violation.kind && c.op === f.c.op);
      }),
      { seed: SEED + f.chain, path: String(f.index), interruptAfterTimeLimit: SHRINK_TIME_MS },
    );
    const shrunk = replay.counterexample?.[0];
    print({
      shrunk: f.violation.kind,
      op: f.c.op,
      reproduced: replay.failed,
      shrinks: replay.numShrinks,
      request: shrunk ? describeCase(shrunk) : describeCase(f.c),
    });
  }

  const t = fuzzer.tally;
  print({
    runs: t.sent,
    seed: SEED,
    concurrency: CONCURRENCY,
    status_counts: t.statusCounts,
    "5xx": t.violations["5xx"] ?? 0,
    undocumented: t.violations.undocumented ?? 0,
    violations: t.violations,
    hung,
    transport_errors: transportErrors,
    routes: fuzzer.ops.length - fuzzer.unreached().length,
    operations: fuzzer.ops.length,
    unreached: fuzzer.unreached(),
    problem_types: Object.keys(t.problems).length,
    seconds: Math.round(seconds * 10) / 10,
    requests_per_second: Math.round(t.sent / seconds),
  });
  return found.size > 0 || hung > 0 ? 1 : 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void stopStacks().finally(() => process.exit(130)));
}

let code: number;
try {
  if (values.edge) {
    const token = process.env.FUZZ_ADMIN_TOKEN;
    if (!token) throw new Error("--edge needs the deployment's admin token in FUZZ_ADMIN_TOKEN");
    code = await fuzz(values.edge.replace(/\/$/, ""), token, 30);
  } else {
    code = await withStack({ hosts: 1, vars: { LOG_LEVEL: "warn" } }, (stack) => fuzz(stack.edge.url, stack.adminToken, 30));
  }
} catch (err) {
  console.error(err);
  await stopStacks();
  code = 2;
}
process.exit(code);
