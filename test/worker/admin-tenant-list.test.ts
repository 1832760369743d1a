// GET /v1/admin/tenants: every tenant exactly once, newest first, in the same view as
// GET /v1/admin/tenants/{id}; cursors are the list's own (a forged or a jobs cursor is a 400); the
// page query is an index seek; only the admin token gets in.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { listTenantsQuery } from "../../src/db/tenants.ts";
import { encodeCursor } from "../../src/lib/cursor.ts";
import { newId } from "../../src/lib/ids.ts";
import { adminCall, call, createTenant, expectProblem, queryPlan } from "../support/worker-helpers.ts";

interface TenantBody {
  id: string;
  name: string;
  created_at: string;
  [k: string]: unknown;
}
type Page = { data: TenantBody[]; next_cursor: string | null };

/** Tenants straight into D1, in the past, groups of 4 sharing a created_at so pages split ties by id. */
async function seed(count: number, base: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => newId("ten"));
  const stmts = ids.map((id, i) =>
    env.DB.prepare("INSERT INTO tenants (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)").bind(id, `seeded-${i}`, base + Math.floor(i / 4), base),
  );
  for (let i = 0; i < stmts.length; i += 100) await env.DB.batch(stmts.slice(i, i + 100));
  return ids;
}

const list = async (qs: string): Promise<Page> => {
  const res = await adminCall(`/v1/admin/tenants${qs}`);
  if (res.status !== 200) throw new Error(`list: ${res.status} ${await res.text()}`);
  return (await res.json()) as Page;
};

describe("GET /v1/admin/tenants", () => {
  // First in the file: the seeded tenants are then the only ones, all older than any made meanwhile.
  it("pages through every tenant once, newest first, while tenants keep being created", async ({ expect }) => {
    await seed(90, Date.now() - 10_000_000);
    const all = (await env.DB.prepare("SELECT id FROM tenants").all<{ id: string }>()).results.map((r) => r.id);
    expect(all).toHaveLength(90);

    const seen: TenantBody[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(`?limit=13${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.data);
      cursor = page.next_cursor;
      // A tenant created meanwhile is newer than every page still to come: it must not show up in them.
      await createTenant();
      expect(++pages).toBeLessThan(20);
    } while (cursor);

    const ids = seen.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(all));
    expect(pages).toBe(Math.ceil(90 / 13));
    for (let i = 1; i < seen.length; i++) {
      const a = seen[i - 1]!;
      const b = seen[i]!;
      expect(Date.parse(a.created_at) - Date.parse(b.created_at) || (a.id > b.id ? 1 : -1)).toBeGreaterThan(0);
    }
  });

  it("lists each tenant exactly as GET /v1/admin/tenants/{id} shows it, 50 to a page by default", async ({ expect }) => {
    const made = await createTenant({ limits: { requests_per_minute: 7 } });
    const first = await list("");
    expect(first.data).toHaveLength(50);
    expect(first.next_cursor).toEqual(expect.any(String));
    // Among the newest, so on the first page.
    expect(first.data.map((t) => t.id)).toContain(made.id);
    for (const t of first.data.slice(0, 3)) {
      expect(t).toEqual(await (await adminCall(`/v1/admin/tenants/${t.id}`)).json());
    }
    expect((await list("?limit=200")).data.length).toBeGreaterThan(90);
  });

  it("rejects a forged cursor, another list's cursor and a limit out of range with 400", async ({ expect }) => {
    const jobsCursor = encodeCursor({ createdAt: Date.now(), id: newId("job") });
    for (const cursor of ["abc", "%00", btoa("1.ten_aaaaaaaaaaaaaaaaaaaa;drop"), jobsCursor]) {
      const body = await expectProblem(await adminCall(`/v1/admin/tenants?cursor=${encodeURIComponent(cursor)}`), 400, "invalid-cursor");
      expect(body.detail).toContain("next_cursor");
    }
    // A cursor this list made is taken.
    const own = encodeCursor({ createdAt: Date.now(), id: newId("ten") });
    expect((await adminCall(`/v1/admin/tenants?cursor=${own}`)).status).toBe(200);
    for (const qs of ["limit=0", "limit=201", "limit=ten", "limit=1.5", "page=2"]) {
      await expectProblem(await adminCall(`/v1/admin/tenants?${qs}`), 400, "invalid-query");
    }
  });

  it("answers 401 without the admin token", async () => {
    await expectProblem(await call("/v1/admin/tenants"), 401, "unauthenticated");
    const t = await createTenant();
    await expectProblem(await call("/v1/admin/tenants", { headers: { Authorization: `Bearer ${t.key}` } }), 401, "unauthenticated");
  });

  it("plans a page as a seek on tenants_created_idx (cost independent of the number of tenants)", async ({ expect }) => {
    const db = createDb(env.DB);
    const deep = await queryPlan(listTenantsQuery(db, { limit: 51, before: { createdAt: 1, id: "ten_x" } }));
    expect(deep).toMatch(/SEARCH tenants USING INDEX tenants_created_idx \(\(created_at,id\)<\(\?,\?\)\)/);
    expect(deep).not.toMatch(/TEMP B-TREE/);
    const head = await queryPlan(listTenantsQuery(db, { limit: 51 }));
    expect(head).toMatch(/tenants USING INDEX tenants_created_idx/);
    expect(head).not.toMatch(/TEMP B-TREE/);
  });
});
