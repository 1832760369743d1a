// End to end: the admin client (packages/client, ComfyAdminClient) against the real stack (wrangler
// dev, a gpu-backend, a ComfyUI emulator). It reads and changes pools, drains a host (a job waits)
// and resumes it (the job runs), pages through tenants and changes one, creates a key that works
// and revokes it (refused from the next request on), and reads a failure it caused.
import { afterAll, beforeAll, describe, it } from "vitest";
import { ApiError, ComfyAdminClient, ComfyClient } from "../../packages/client/src/index.ts";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { Client, EMPTY_TO_SAVE } from "./support/client.ts";

let stack: LocalStack;
let api: Client;
let admin: ComfyAdminClient;

beforeAll(async () => {
  stack = await startLocalStack({ hosts: 1, emulatorArgs: ["--step-ms", "10"] });
  api = new Client(stack);
  admin = new ComfyAdminClient({ baseUrl: stack.edge.url, adminToken: stack.adminToken });
});
afterAll(async () => {
  await stack?.stop();
});

const userClient = (key: string) => new ComfyClient({ baseUrl: stack.edge.url, apiKey: key, userId: "ops" });

describe("the admin client on the real stack", () => {
  it("lists, reads and changes pools", async ({ expect }) => {
    const pools = await admin.pools.list();
    const main = pools.find((p) => p.is_default);
    expect(main).toBeDefined();
    // startLocalStack returns once its host is live in the default pool.
    expect(main!.status?.live_hosts).toBe(1);
    expect(await admin.pools.get(main!.name)).toMatchObject({ name: main!.name, is_default: true });
    const changed = await admin.pools.update(main!.name, { description: "e2e: admin client" });
    expect(changed.description).toBe("e2e: admin client");
    expect((await admin.pools.get(main!.name)).description).toBe("e2e: admin client");
  });

  it("drains a host (a new job waits) and resumes it (the job runs)", async ({ expect }) => {
    const hostId = stack.hosts[0]!.id;
    const hosts = await admin.hosts.list();
    expect(hosts.find((h) => h.id === hostId)).toMatchObject({ live: true, draining: false, comfy: "ready" });

    const drained = await admin.hosts.drain(hostId);
    expect(drained).toMatchObject({ id: hostId, draining: true });
    expect((await admin.hosts.list()).find((h) => h.id === hostId)?.draining).toBe(true);
    expect((await admin.pools.get(drained.pool)).status?.live_hosts).toBe(0);

    const t = await api.tenant();
    const c = userClient(t.key);
    // The only host takes no work while drained: the job stays queued, whenever we look.
    const job = await c.submit(EMPTY_TO_SAVE(8, 8, 3));
    expect((await c.get(job.id)).status).toBe("queued");

    const resumed = await admin.hosts.resume(hostId);
    expect(resumed).toMatchObject({ id: hostId, draining: false });
    expect((await c.waitFor(job.id, { timeoutMs: 60_000 })).status).toBe("succeeded");
  });

  it("pages through tenants, reads one and changes it", async ({ expect }) => {
    const made = await Promise.all([api.tenant(), api.tenant(), api.tenant()]);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(100);
      const page = await admin.tenants.list({ limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((t) => t.id));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(made.map((t) => t.id)));

    const id = made[0]!.id;
    const one = await admin.tenants.get(id);
    expect((await admin.tenants.list({ limit: 200 })).data.find((t) => t.id === id)).toEqual(one);
    const changed = await admin.tenants.update(id, { name: "renamed", limits: { requests_per_minute: 9 } });
    expect(changed).toMatchObject({ id, name: "renamed", limits: { requests_per_minute: 9 }, limit_overrides: { requests_per_minute: 9 } });

    const missing = await admin.tenants.get("ten_aaaaaaaaaaaaaaaaaaaa").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, code: "not-found" });
    const badCursor = await admin.tenants.list({ cursor: "nonsense" }).catch((e: unknown) => e);
    expect(badCursor).toMatchObject({ status: 400, code: "invalid-cursor" });
  });

  it("creates a key that works, lists it without its secret, and revokes it", async ({ expect }) => {
    const t = await api.tenant();
    const created = await admin.keys.create(t.id, { name: "ops" });
    expect(created).toMatchObject({ tenant_id: t.id, name: "ops", revoked_at: null });
    expect(created.key).toMatch(/^csk_/);
    const c = userClient(created.key);
    expect(await c.usage()).toBeDefined();

    const listed = await admin.keys.list(t.id);
    const entry = listed.find((k) => k.id === created.id);
    expect(entry).toEqual({ id: created.id, tenant_id: t.id, name: "ops", created_at: created.created_at, revoked_at: null });
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const revoked = await admin.keys.revoke(created.id);
    expect(revoked.revoked_at).toEqual(expect.any(String));
    const refused = await c.usage().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 401, code: "unauthenticated" });
    // The tenant's other key is untouched.
    expect(await userClient(t.key).usage()).toBeDefined();
  });

  it("reads a failure it caused, grouped by error code and pool", async ({ expect }) => {
    const window = { windowSeconds: 600 };
    const before = await admin.failures(window);
    const t = await api.tenant();
    const c = userClient(t.key);
    const job = await c.submit({
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      "2": { class_type: "RaiseErrorEmu", inputs: { image: ["1", 0], message: "boom from e2e", exception_type: "ValueError" } },
      "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "x" } },
    });
    const failed = await c.waitFor(job.id, { timeoutMs: 60_000 });
    expect(failed).toMatchObject({ status: "failed", error: { code: "execution_error" } });

    const after = await admin.failures(window);
    expect(Date.parse(after.until) - Date.parse(after.since)).toBe(600_000);
    expect(after.total).toBe(before.total + 1);
    const countOf = (f: typeof after) => f.groups.find((g) => g.code === "execution_error" && g.pool === failed.pool)?.count ?? 0;
    expect(countOf(after)).toBe(countOf(before) + 1);
    const group = after.groups.find((g) => g.code === "execution_error" && g.pool === failed.pool)!;
    expect(group.last_message).toContain("boom from e2e");
    expect(Date.parse(group.last_at)).toBe(Date.parse(failed.finished_at!));

    expect((await admin.failures()).total).toBeGreaterThanOrEqual(after.total);
    const outOfRange = await admin.failures({ windowSeconds: 10 }).catch((e: unknown) => e);
    expect(outOfRange).toMatchObject({ status: 400, code: "invalid-query" });
  });

  it("refuses a wrong admin token with an ApiError", async ({ expect }) => {
    const wrong = new ComfyAdminClient({ baseUrl: stack.edge.url, adminToken: "not-the-admin-token-not-the-admin-token" });
    const err = await wrong.hosts.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 401, code: "unauthenticated" });
  });
});
