// Webhook secret rotation through the admin API: add (shown once), list (never the values),
// retire (idempotent, never the last active one), a cap on active secrets, and tenant scoping.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { adminCall, createTenant, expectProblem } from "../support/worker-helpers.ts";

const secretsOf = (tenantId: string) => `/v1/admin/tenants/${tenantId}/webhook-secrets`;

async function list(tenantId: string): Promise<Record<string, any>[]> {
  const res = await adminCall(secretsOf(tenantId));
  if (res.status !== 200) throw new Error(`list: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: Record<string, any>[] }).data;
}

describe("webhook secrets", () => {
  it("adds a secret shown once, lists both without values, retires the old one, and keeps the last", async ({ expect }) => {
    const t = await createTenant();
    const [first] = await list(t.id);
    expect(first).toEqual({ id: expect.stringMatching(/^whs_/), tenant_id: t.id, active: true, created_at: expect.any(String), retired_at: null });

    const res = await adminCall(secretsOf(t.id), { method: "POST" });
    expect(res.status).toBe(201);
    const added = (await res.json()) as Record<string, any>;
    expect(added).toMatchObject({ id: expect.stringMatching(/^whs_/), tenant_id: t.id, active: true, retired_at: null });
    expect(added.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(added.secret.slice(6)).length).toBe(32);

    // Listing never shows a secret's value, and the database holds only ciphertext.
    const both = await list(t.id);
    expect(both.map((s) => s.id)).toEqual([first!.id, added.id]);
    const listed = JSON.stringify(both);
    expect(listed).not.toContain(added.secret.slice(6, 30));
    expect(listed).not.toContain(t.webhookSecret.slice(6, 30));
    const stored = await env.DB.prepare("SELECT secret_ciphertext FROM webhook_secrets WHERE id = ?").bind(added.id).first<{ secret_ciphertext: string }>();
    expect(stored!.secret_ciphertext).not.toContain(added.secret.slice(6, 20));

    const retired = await adminCall(`${secretsOf(t.id)}/${first!.id}`, { method: "DELETE" });
    expect(retired.status).toBe(200);
    expect(await retired.json()).toMatchObject({ id: first!.id, active: false, retired_at: expect.any(String) });
    // Retiring again answers the same; it is not an error.
    const again = await adminCall(`${secretsOf(t.id)}/${first!.id}`, { method: "DELETE" });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: first!.id, active: false });

    // The remaining secret is the last active one: it cannot be retired.
    const last = await expectProblem(await adminCall(`${secretsOf(t.id)}/${added.id}`, { method: "DELETE" }), 409, "last-webhook-secret");
    expect(last.detail).toContain("add a new one");
    expect((await list(t.id)).filter((s) => s.active).map((s) => s.id)).toEqual([added.id]);
  });

  it("caps active secrets at five", async ({ expect }) => {
    const t = await createTenant();
    for (let i = 0; i < 4; i++) expect((await adminCall(secretsOf(t.id), { method: "POST" })).status).toBe(201);
    await expectProblem(await adminCall(secretsOf(t.id), { method: "POST" }), 409, "conflict");
    expect((await list(t.id)).filter((s) => s.active)).toHaveLength(5);
  });

  it("404s an unknown tenant, and a secret of another tenant", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const [bSecret] = await list(b.id);
    await expectProblem(await adminCall(secretsOf("ten_aaaaaaaaaaaaaaaaaaaa"), { method: "POST" }), 404, "not-found");
    await expectProblem(await adminCall(secretsOf("ten_aaaaaaaaaaaaaaaaaaaa")), 404, "not-found");
    await expectProblem(await adminCall(`${secretsOf(a.id)}/${bSecret!.id}`, { method: "DELETE" }), 404, "not-found");
    await expectProblem(await adminCall(`${secretsOf(a.id)}/whs_nope`, { method: "DELETE" }), 404, "not-found");
  });
});
