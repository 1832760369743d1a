// Benchmark (issue 19): the retention sweep erasing 100,000 old jobs while GET /v1/jobs is read
// continuously, against a real `wrangler dev` (D1, R2 and the Durable Objects in miniflare).
//
// One tenant has BENCH_OLD_JOBS jobs that ended 60 days ago (each with its workflow and one output
// row), another user has 100 recent jobs that a reader lists without pause: first before the sweep
// (baseline), then while the sweep runs at its default pace until every old job is gone. Prints
// one JSON line per figure: rows erased per second, and the list's p99 during vs before (ratio).

import { startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { BENCH_ADMIN_TOKEN, BENCH_VARS, createTenantWithKey } from "./lib/api.ts";
import { summarize, timed } from "./lib/stats.ts";

const OLD = Number(process.env.BENCH_OLD_JOBS ?? 100_000);
const RECENT = 100;
const BASELINE = Number(process.env.BENCH_BASELINE_LISTS ?? 300);
/** The sweep must be done within this, or the benchmark reports how far it got. */
const SWEEP_LIMIT_MS = Number(process.env.BENCH_SWEEP_LIMIT_MS ?? 30 * 60_000);
const DAY = 86_400_000;

/** N rows of `jobs` plus their workflow and one output each, ended `endedAgo` ms ago; one statement per table. */
function seedSql(tenantId: string, userId: string, count: number, endedAt: number, prefix: string): string {
  const id = `'job_${prefix}' || printf('%015d', i)`;
  const counter = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})`;
  return `${counter}
INSERT INTO jobs (id, tenant_id, user_id, status, created_at, updated_at, queue_deadline_at, finished_at, node_count)
SELECT ${id}, '${tenantId}', '${userId}', 'succeeded', ${endedAt} - 60000 + i, ${endedAt} + i, ${endedAt} + i, ${endedAt} + i, 2 FROM n;
${counter}
INSERT INTO job_workflows (job_id, workflow) SELECT ${id}, '{"1":{"class_type":"EmptyImage","inputs":{}}}' FROM n;
${counter}
INSERT INTO job_outputs (job_id, attempt, name, content_type, size, sha256, r2_key, node_id, kind, created_at)
SELECT ${id}, 1, 'out.png', 'image/png', 1000, 'x', 'jobs/${tenantId}/' || ${id} || '/a1/outputs/out.png', '9', 'images', ${endedAt} FROM n;`;
}

const dev = await startWranglerDev({ ...BENCH_VARS, LOG_LEVEL: "warn" });
try {
  const limits = { max_active_jobs_per_user: 10_000, max_active_jobs_per_tenant: 1_000_000, requests_per_minute: 1_000_000 };
  const old = await createTenantWithKey(dev.url, limits);
  const reader = await createTenantWithKey(dev.url, limits);
  const now = Date.now();
  const seedStart = performance.now();
  dev.d1({ command: seedSql(old.tenantId, "old", OLD, now - 60 * DAY, "o") });
  dev.d1({ command: seedSql(reader.tenantId, "reader", RECENT, now - DAY, "r") });
  const seedMs = performance.now() - seedStart;
  const remaining = () => Number(dev.d1({ command: `SELECT count(*) AS n FROM jobs WHERE tenant_id = '${old.tenantId}'` })[0]!.n);
  /** Whether the old tenant still lists a job: one cheap request, so the reader hardly pauses. */
  const oldJobsLeft = async () => {
    const res = await fetch(`${dev.url}/v1/jobs?limit=1`, { headers: { Authorization: `Bearer ${old.key}`, "X-User-ID": "old" } });
    return ((await res.json()) as { data: unknown[] }).data.length > 0;
  };

  const list = async () => {
    const res = await fetch(`${dev.url}/v1/jobs?limit=50`, { headers: { Authorization: `Bearer ${reader.key}`, "X-User-ID": "reader" } });
    const body = (await res.json()) as { data: unknown[] };
    if (res.status !== 200 || body.data.length !== 50) throw new Error(`list: ${res.status}`);
  };
  for (let i = 0; i < 20; i++) await list();
  const before: number[] = [];
  for (let i = 0; i < BASELINE; i++) before.push((await timed(list))[0]);

  const admin = { Authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
  const run = await fetch(`${dev.url}/v1/admin/retention/run`, { method: "POST", headers: admin });
  if (run.status !== 202) throw new Error(`retention run: ${run.status} ${await run.text()}`);
  const sweepStart = performance.now();
  const during: number[] = [];
  let lastCheck = 0;
  let more = true;
  // The reader lists without pause; every second the benchmark asks whether old jobs are left.
  while (more && performance.now() - sweepStart < SWEEP_LIMIT_MS) {
    during.push((await timed(list))[0]);
    if (performance.now() - lastCheck > 1_000) {
      lastCheck = performance.now();
      more = await oldJobsLeft();
    }
  }
  const sweepMs = performance.now() - sweepStart;
  const left = remaining();
  const erased = OLD - left;
  const status = (await (await fetch(`${dev.url}/v1/admin/retention`, { headers: admin })).json()) as Record<string, unknown>;
  const b = summarize(before);
  const d = summarize(during);
  const round = (x: number, n = 2) => Math.round(x * 10 ** n) / 10 ** n;
  console.log(JSON.stringify({ bench: "retention_seed", jobs: OLD, rows: OLD * 3, ms: Math.round(seedMs) }));
  console.log(
    JSON.stringify({
      bench: "retention_sweep",
      jobs_erased: erased,
      complete: left === 0,
      seconds: round(sweepMs / 1000, 1),
      jobs_per_second: round(erased / (sweepMs / 1000), 1),
      d1_rows_per_second: round((erased * 3) / (sweepMs / 1000), 1),
      pass: status.pass,
    }),
  );
  console.log(JSON.stringify({ bench: "retention_list_before", ...b }));
  console.log(JSON.stringify({ bench: "retention_list_during", ...d }));
  console.log(JSON.stringify({ bench: "retention_list_p99_ratio", during_over_before: round(d.p99_ms / b.p99_ms), p50_ratio: round(d.p50_ms / b.p50_ms) }));
} finally {
  await dev.stop();
}
