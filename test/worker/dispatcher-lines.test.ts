// The Dispatcher's tenant lines (durable-objects/dispatcher/store.ts): kept in a `lines` table by
// triggers on the queue, so each line's head is an index seek. Checked against the definition
// (a window over the whole queue) after a seeded mix of enqueues, dequeues and requeues, in a real
// Dispatcher's storage; and an object whose queue predates the table counts it once.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { DispatcherStore } from "../../durable-objects/dispatcher/store.ts";
import type { TenantLine } from "../../src/dispatch/policy.ts";

const inObject = <T>(fn: (sql: SqlStorage) => T) =>
  runInDurableObject(env.DISPATCHER.getByName(`lines-${crypto.randomUUID().slice(0, 8)}`), (_i, state) => fn(state.storage.sql));

/** The lines by definition: every queued job, grouped per tenant (the query the table replaced). */
function linesByWindow(sql: SqlStorage, needsIds?: readonly number[]): TenantLine[] {
  const rows = sql
    .exec<{ tenant_id: string; job_id: string; enqueued_at: number; n: number; turn: number }>(
      `SELECT q.tenant_id, q.job_id, q.enqueued_at, q.n, coalesce(t.turn, 0) AS turn
         FROM (SELECT tenant_id, job_id, enqueued_at,
                      row_number() OVER (PARTITION BY tenant_id ORDER BY enqueued_at, job_id) AS rn,
                      count(*) OVER (PARTITION BY tenant_id) AS n
                 FROM queue ${needsIds ? "WHERE needs_id IN (SELECT value FROM json_each(?))" : ""}) q
         LEFT JOIN turns t ON t.tenant_id = q.tenant_id
        WHERE q.rn = 1`,
      ...(needsIds ? [JSON.stringify(needsIds)] : []),
    )
    .toArray();
  return rows.map((r) => ({ tenantId: r.tenant_id, turn: r.turn, head: { jobId: r.job_id, enqueuedAt: r.enqueued_at }, length: r.n }));
}

const sorted = (lines: TenantLine[]) => [...lines].sort((a, b) => a.tenantId.localeCompare(b.tenantId));

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("the Dispatcher's tenant lines", () => {
  it("match the whole-queue definition after a seeded mix of enqueues, dequeues and requeues", async ({ expect }) => {
    const mismatches = await inObject((sql) => {
      const store = new DispatcherStore(sql);
      const rnd = random(21);
      const needs = [0, store.needsId('{"classes":["A"],"models":[]}'), store.needsId('{"classes":["B"],"models":[]}')];
      const queued: string[] = [];
      const bad: string[] = [];
      for (let step = 0; step < 400; step++) {
        const r = rnd();
        if (r < 0.55 || queued.length === 0) {
          const id = `j${step}`;
          // Equal enqueue times are common (a burst in one millisecond): the job id breaks the tie.
          store.enqueue({
            job_id: id,
            tenant_id: `t${Math.floor(rnd() * 5)}`,
            user_id: "u",
            enqueued_at: 1_000 + Math.floor(rnd() * 40),
            queue_deadline_at: 9_999_999,
            attempts: 0,
            needs_id: needs[Math.floor(rnd() * needs.length)]!,
          });
          queued.push(id);
        } else {
          const [id] = queued.splice(Math.floor(rnd() * queued.length), 1);
          store.dequeue(id!);
          if (r > 0.9) store.takeTurn(`t${Math.floor(rnd() * 5)}`);
        }
        const filter = [needs[1]!, needs[2]!];
        if (JSON.stringify(sorted(store.tenantLines())) !== JSON.stringify(sorted(linesByWindow(sql)))) bad.push(`step ${step}: all needs`);
        if (JSON.stringify(sorted(store.tenantLines(filter))) !== JSON.stringify(sorted(linesByWindow(sql, filter)))) bad.push(`step ${step}: filtered`);
        const depth = sql.exec<{ n: number }>("SELECT count(*) AS n FROM queue").one().n;
        if (store.queueDepth().depth !== depth) bad.push(`step ${step}: depth`);
      }
      return bad;
    });
    expect(mismatches).toEqual([]);
  });

  it("counts a queue that predates the lines table once, then keeps it", async ({ expect }) => {
    const got = await inObject((sql) => {
      const store = new DispatcherStore(sql);
      for (let i = 0; i < 6; i++) {
        store.enqueue({ job_id: `old${i}`, tenant_id: `t${i % 2}`, user_id: "u", enqueued_at: 100 + i, queue_deadline_at: 9e9, attempts: 0, needs_id: 0 });
      }
      // As an object created before the table existed: no lines, no marker.
      sql.exec("DELETE FROM lines");
      sql.exec("DELETE FROM meta WHERE key = 'lines_v1'");
      const rebuilt = new DispatcherStore(sql);
      const first = sorted(rebuilt.tenantLines()).map((l) => [l.tenantId, l.head.jobId, l.length]);
      rebuilt.dequeue("old0");
      // A second construction does not count again.
      const again = sorted(new DispatcherStore(sql).tenantLines()).map((l) => [l.tenantId, l.head.jobId, l.length]);
      return { first, again };
    });
    expect(got.first).toEqual([
      ["t0", "old0", 3],
      ["t1", "old1", 3],
    ]);
    expect(got.again).toEqual([
      ["t0", "old2", 2],
      ["t1", "old1", 3],
    ]);
  });
});
