// Benchmark (issue 2): list latency must not grow with history, and submit latency under load.
//
// Against a real `wrangler dev`: GET /v1/jobs?limit=50 for a user with 100 jobs and one with
// 100,000 (first page and a page 50,000 jobs deep), interleaved in one run so the ratio is fair;
// then POST /v1/jobs from 20 concurrent clients. Prints one JSON line per figure.

import { startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { encodeCursor } from "../src/lib/cursor.ts";
import { BENCH_VARS, createTenantWithKey, WORKFLOW } from "./lib/api.ts";
import { summarize, timed } from "./lib/stats.ts";

const SMALL = 100;
const BIG = Number(process.env.BENCH_BIG_JOBS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const CLIENTS = 20;
const SUBMITS_PER_CLIENT = Number(process.env.BENCH_SUBMITS ?? 25);

/** One INSERT … SELECT over a recursive counter: 100k rows in a single statement. */
function seedSql(tenantId: string, userId: string, count: number, base: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const char = `substr('${alphabet}', (abs(random()) % 32) + 1, 1)`;
  const id = `'job_' || ${Array(20).fill(char).join(" || ")}`;
  return `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
INSERT INTO jobs (id, tenant_id, user_id, status, created_at, updated_at, queue_deadline_at, node_count)
SELECT ${id}, '${tenantId}', '${userId}', CASE i % 5 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'succeeded' ELSE 'failed' END,
       ${base} + i, ${base} + i, ${base} + i + 900000, 2 FROM n;`;
}

const dev = await startWranglerDev(BENCH_VARS);
try {
  const limits = { max_active_jobs_per_user: 10_000, max_active_jobs_per_tenant: 1_000_000, requests_per_minute: 1_000_000 };
  const { tenantId, key } = await createTenantWithKey(dev.url, limits);
  const base = Date.now() - 10 * BIG;
  const seedStart = performance.now();
  dev.d1({ command: seedSql(tenantId, "small", SMALL, base) });
  dev.d1({ command: seedSql(tenantId, "big", BIG, base) });
  const seedMs = performance.now() - seedStart;
  const [mid] = dev.d1({
    command: `SELECT created_at, id FROM jobs WHERE tenant_id = '${tenantId}' AND user_id = 'big' ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ${Math.floor(BIG / 2)}`,
  });
  const deepCursor = encodeCursor({ createdAt: Number(mid!.created_at), id: String(mid!.id) });

  const list = async (user: string, cursor?: string) => {
    const res = await fetch(`${dev.url}/v1/jobs?limit=50${cursor ? `&cursor=${cursor}` : ""}`, {
      headers: { Authorization: `Bearer ${key}`, "X-User-ID": user },
    });
    const body = (await res.json()) as { data: unknown[] };
    if (res.status !== 200 || body.data.length !== 50) throw new Error(`list ${user}: ${res.status}`);
  };
  const variants: [string, () => Promise<void>][] = [
    ["small", () => list("small")],
    ["big", () => list("big")],
    ["big_deep", () => list("big", deepCursor)],
  ];
  for (let i = 0; i < 20; i++) for (const [, run] of variants) await run();
  const samples: Record<string, number[]> = { small: [], big: [], big_deep: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, run] of variants) samples[name]!.push((await timed(run))[0]);
  }
  const small = summarize(samples.small!);
  const big = summarize(samples.big!);
  const deep = summarize(samples.big_deep!);
  console.log(JSON.stringify({ bench: "list_jobs", user_jobs: SMALL, page: "first", ...small }));
  console.log(JSON.stringify({ bench: "list_jobs", user_jobs: BIG, page: "first", ...big }));
  console.log(JSON.stringify({ bench: "list_jobs", user_jobs: BIG, page: `offset ${Math.floor(BIG / 2)}`, ...deep }));
  console.log(
    JSON.stringify({
      bench: "list_jobs_ratio",
      p50_ratio_big_vs_small: Math.round((big.p50_ms / small.p50_ms) * 100) / 100,
      p50_ratio_deep_vs_small: Math.round((deep.p50_ms / small.p50_ms) * 100) / 100,
      p99_ratio_big_vs_small: Math.round((big.p99_ms / small.p99_ms) * 100) / 100,
      target: 1.5,
      seed_ms: Math.round(seedMs),
    }),
  );

  const submitLatencies: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < SUBMITS_PER_CLIENT; i++) {
        const [ms, res] = await timed(() =>
          fetch(`${dev.url}/v1/jobs`, {
            method: "POST",
            headers: { Authorization: `Bearer ${key}`, "X-User-ID": `client-${c}`, "Content-Type": "application/json" },
            body: JSON.stringify({ workflow: WORKFLOW }),
          }),
        );
        await res.arrayBuffer();
        if (res.status === 202) submitLatencies.push(ms);
        else failures++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      bench: "submit_jobs",
      concurrency: CLIENTS,
      ...summarize(submitLatencies),
      failures,
      per_second: Math.round((submitLatencies.length / elapsed) * 10) / 10,
    }),
  );
} finally {
  await dev.stop();
}
