// Cursor pagination over 1,000 jobs while new jobs keep arriving: every job exactly once, newest
// first, no gaps, no duplicates; and the list query is an index seek, not a scan.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { listOwnedJobsQuery } from "../../src/db/jobs.ts";
import { newId } from "../../src/lib/ids.ts";
import { call, createTenant, type JobBody, queryPlan, submitOk, userHeaders } from "../support/worker-helpers.ts";

async function seed(tenantId: string, userId: string, count: number, base: number): Promise<string[]> {
  const ids: string[] = [];
  const stmts: D1PreparedStatement[] = [];
  for (let i = 0; i < count; i++) {
    const id = newId("job");
    ids.push(id);
    // Groups of 7 share a timestamp, so the id tie-break is exercised on every page boundary.
    const createdAt = base + Math.floor(i / 7);
    stmts.push(
      env.DB.prepare(
        "INSERT INTO jobs (id, tenant_id, user_id, status, created_at, updated_at, queue_deadline_at, node_count) VALUES (?, ?, ?, 'queued', ?, ?, ?, 2)",
      ).bind(id, tenantId, userId, createdAt, createdAt, createdAt + 900_000),
    );
  }
  for (let i = 0; i < stmts.length; i += 100) await env.DB.batch(stmts.slice(i, i + 100));
  return ids;
}

describe("pagination", () => {
  it("walks 1,000 jobs with concurrent inserts: no duplicates, no gaps, newest first", async ({ expect }) => {
    const t = await createTenant({ limits: { max_active_jobs_per_user: 100 } });
    const seeded = await seed(t.id, "pager", 1000, Date.now() - 10_000_000);
    const seen: JobBody[] = [];
    let cursor: string | null = null;
    let pages = 0;
    const inserts: Promise<unknown>[] = [];
    do {
      const qs: string = cursor ? `&cursor=${cursor}` : "";
      const res = await call(`/v1/jobs?limit=37${qs}`, { headers: userHeaders(t.key, "pager") });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: JobBody[]; next_cursor: string | null };
      seen.push(...page.data);
      cursor = page.next_cursor;
      // New jobs land while we page; being newer than the first page, they must not disturb it.
      inserts.push(submitOk(t.key, "pager"));
      expect(++pages).toBeLessThan(100);
    } while (cursor);
    await Promise.all(inserts);

    const ids = seen.map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(seeded));
    for (let i = 1; i < seen.length; i++) {
      const a = seen[i - 1]!;
      const b = seen[i]!;
      const order = Date.parse(a.created_at) - Date.parse(b.created_at) || (a.id > b.id ? 1 : -1);
      expect(order).toBeGreaterThan(0);
    }
    expect(pages).toBe(Math.ceil(1000 / 37));

    // The jobs submitted meanwhile are at the head of a fresh listing.
    const head = (await (await call("/v1/jobs?limit=100", { headers: userHeaders(t.key, "pager") })).json()) as { data: JobBody[] };
    expect(head.data.slice(0, inserts.length).every((j) => !seeded.includes(j.id))).toBe(true);
  });

  it("plans the list query as an index range seek (cost independent of history size)", async ({ expect }) => {
    const db = createDb(env.DB);
    const owner = { tenantId: "t", userId: "u" };
    const before = { createdAt: 1, id: "job_x" };
    const plain = await queryPlan(listOwnedJobsQuery(db, owner, { limit: 51, before }));
    expect(plain).toMatch(/SEARCH jobs USING INDEX jobs_user_created_idx \(tenant_id=\? AND user_id=\? AND \(created_at,id\)<\(\?,\?\)\)/);
    expect(plain).not.toMatch(/TEMP B-TREE|SCAN/);
    const byStatus = await queryPlan(listOwnedJobsQuery(db, owner, { limit: 51, before, status: "queued" }));
    expect(byStatus).toMatch(/USING INDEX jobs_user_status_created_idx \(tenant_id=\? AND user_id=\? AND status=\? AND \(created_at,id\)<\(\?,\?\)\)/);
    expect(byStatus).not.toMatch(/TEMP B-TREE|SCAN/);
  });
});
