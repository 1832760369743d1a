// Benchmark (issue 21, part 4): what the Dispatcher's own decisions cost as its queue grows. The
// real DispatcherStore and placeNext() (durable-objects/dispatcher/) run on node:sqlite — the
// engine a Durable Object's storage is — through a small adapter of the SqlStorage calls they use.
// Per queue depth (1,000 / 10,000 / 100,000 jobs over 50 tenants and 3 kinds of needs, 8 hosts
// with free slots), the mean time of: the tenants' lines (the `lines` table), the same lines by the
// whole-queue window it replaced (its definition; measured in the same run, so the ratio holds
// whatever the machine's speed), one placement decision, one schedule() input read, and one
// enqueue + dequeue (with the triggers that keep the lines). JSON lines on stdout.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { PlacementCache, placeNext } from "../durable-objects/dispatcher/place.ts";
import { DispatcherStore, type SqlExec } from "../durable-objects/dispatcher/store.ts";

const DEPTHS = (process.env.BENCH_DEPTHS ?? "1000,10000,100000").split(",").map(Number);
const TENANTS = 50;
const HOSTS = 8;
/** Each measurement runs for about this long (at least 3 repetitions). */
const BUDGET_MS = 400;

/** The store's SqlExec (the part of a Durable Object's SqlStorage it uses) over node:sqlite. */
function sqlStorage(db: DatabaseSync): SqlExec {
  const prepared = new Map<string, StatementSync>();
  const changes = db.prepare("SELECT changes() AS n");
  const exec = (query: string, ...params: unknown[]) => {
    // The schema (several statements, no parameters) goes through exec; the rest are cached statements.
    if (
      params.length === 0 &&
      query
        .trim()
        .split(";")
        .filter((s) => s.trim() !== "").length > 1
    ) {
      db.exec(query);
      return { toArray: () => [], one: () => undefined, rowsWritten: 0 };
    }
    let stmt = prepared.get(query);
    if (!stmt) {
      stmt = db.prepare(query);
      prepared.set(query, stmt);
    }
    const rows = stmt.all(...(params as never[]));
    const written = /^\s*(INSERT|UPDATE|DELETE)/i.test(query) ? Number((changes.get() as { n: number }).n) : 0;
    return { toArray: () => rows, one: () => rows[0], rowsWritten: written };
  };
  return { exec } as SqlExec;
}

const WINDOW = `SELECT q.tenant_id, q.job_id, q.enqueued_at, q.n, coalesce(t.turn, 0) AS turn
  FROM (SELECT tenant_id, job_id, enqueued_at,
               row_number() OVER (PARTITION BY tenant_id ORDER BY enqueued_at, job_id) AS rn,
               count(*) OVER (PARTITION BY tenant_id) AS n
          FROM queue) q
  LEFT JOIN turns t ON t.tenant_id = q.tenant_id
 WHERE q.rn = 1`;

function meanMs(fn: () => void): number {
  let reps = 0;
  const t0 = performance.now();
  while (reps < 3 || (performance.now() - t0 < BUDGET_MS && reps < 10_000)) {
    fn();
    reps++;
  }
  return Math.round(((performance.now() - t0) / reps) * 1000) / 1000;
}

for (const depth of DEPTHS) {
  const db = new DatabaseSync(":memory:");
  const sql = sqlStorage(db);
  const store = new DispatcherStore(sql);
  const now = 1_000_000;
  for (let h = 0; h < HOSTS; h++) {
    store.upsertHost(`host-${h}`, `http://127.0.0.1:${9000 + h}`, 4);
    store.recordHeartbeat(`host-${h}`, { at: now, capacity: 6, draining: false, comfy: "ready", lockHash: "", version: "bench" });
  }
  const needs = [0, store.needsId('{"classes":["KSampler"],"models":[]}'), store.needsId('{"classes":["VAEDecode"],"models":[]}')];
  db.exec("BEGIN");
  for (let i = 0; i < depth; i++) {
    store.enqueue({
      job_id: `j${i}`,
      tenant_id: `t${i % TENANTS}`,
      user_id: "u",
      enqueued_at: i,
      queue_deadline_at: now * 10,
      attempts: 0,
      needs_id: needs[i % needs.length]!,
    });
  }
  db.exec("COMMIT");
  const window = db.prepare(WINDOW);
  const cache = new PlacementCache();
  const rules = { now, heartbeatTimeoutMs: 30_000, expectedLockHash: "" };
  let k = 0;
  const figures = {
    tenant_lines_ms: meanMs(() => store.tenantLines()),
    whole_queue_window_ms: meanMs(() => window.all()),
    placement_ms: meanMs(() => placeNext(store, cache, rules, 0)),
    schedule_inputs_ms: meanMs(() => store.alarmInputs()),
    enqueue_and_dequeue_ms: meanMs(() => {
      store.dequeue(`j${k}`);
      store.enqueue({
        job_id: `again${k}`,
        tenant_id: `t${k % TENANTS}`,
        user_id: "u",
        enqueued_at: depth + k,
        queue_deadline_at: now * 10,
        attempts: 0,
        needs_id: 0,
      });
      k++;
    }),
  };
  console.log(
    JSON.stringify({
      bench: "dispatcher-store",
      queue_depth: depth,
      tenants: TENANTS,
      hosts: HOSTS,
      ...figures,
      window_over_lines: Math.round((figures.whole_queue_window_ms / figures.tenant_lines_ms) * 10) / 10,
    }),
  );
  db.close();
}
