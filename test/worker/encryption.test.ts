// Secrets at rest under DATA_ENCRYPTION_KEYS (the test config lists k2, then k1): each value names
// its key and is bound to its row, older listed keys still decrypt, and the re-encryption sweep
// moves every value to the newest key in bounded, idempotent steps.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { dataKeys, secretContext } from "../../src/encryption/columns.ts";
import type { Env } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { decryptSecret, encryptSecret, storedKeyId, UndecryptableSecret } from "../../src/lib/crypto.ts";
import { keysOf } from "../../src/lib/key-list.ts";
import { adminCall, createTenant, expectProblem, json } from "../support/worker-helpers.ts";
import { heartbeat, registerHost, type TestHost, useTestHosts } from "../support/worker-hosts.ts";

const { track } = useTestHosts();
const KEYS = keysOf(env.DATA_ENCRYPTION_KEYS);
const [K2, K1] = KEYS as [(typeof KEYS)[0], (typeof KEYS)[0]];

const hostCiphertext = async (id: string) =>
  (await env.DB.prepare("SELECT secret_ciphertext AS v FROM gpu_hosts WHERE id = ?").bind(id).first<{ v: string }>())!.v;
const setHostCiphertext = (id: string, v: string) => env.DB.prepare("UPDATE gpu_hosts SET secret_ciphertext = ? WHERE id = ?").bind(v, id).run();
const tenantSecret = async (tenantId: string) =>
  (await env.DB.prepare("SELECT id, secret_ciphertext AS v FROM webhook_secrets WHERE tenant_id = ?").bind(tenantId).first<{ id: string; v: string }>())!;

/** A registered host whose stored secret is under k1, as if written before k2 was added. */
async function hostUnderK1(): Promise<TestHost> {
  const host = track(await registerHost());
  await setHostCiphertext(host.id, await encryptSecret(host.secret, [K1], secretContext.hostSecret(host.id)));
  return host;
}

describe("stored secrets", () => {
  it("name their key and are bound to their row: the newest key encrypts, a value in another row does not decrypt", async ({ expect }) => {
    expect(dataKeys(env as never).map((k) => k.kid)).toEqual(["k2", "k1"]);
    const a = track(await registerHost());
    const b = track(await registerHost());
    const [va, vb] = [await hostCiphertext(a.id), await hostCiphertext(b.id)];
    expect([storedKeyId(va), storedKeyId(vb)]).toEqual(["k2", "k2"]);
    expect(await decryptSecret(va, KEYS, secretContext.hostSecret(a.id))).toBe(a.secret);
    // The same value read as another row's, or as the row's other column, is refused.
    await expect(decryptSecret(va, KEYS, secretContext.hostSecret(b.id))).rejects.toMatchObject({ reason: "mismatch" });
    await expect(decryptSecret(va, KEYS, secretContext.previousHostSecret(a.id))).rejects.toBeInstanceOf(UndecryptableSecret);

    // Swapped in the database: neither host's own secret nor the other's authenticates it.
    await setHostCiphertext(a.id, vb);
    await setHostCiphertext(b.id, va);
    await expectProblem(await heartbeat(a), 401, "unauthenticated");
    await expectProblem(await heartbeat({ ...a, secret: b.secret }), 401, "unauthenticated");
    await setHostCiphertext(a.id, va);
    expect((await heartbeat(a)).status).toBe(200);

    // Webhook secrets the same way: one tenant's value is not readable as another's.
    const [t1, t2] = [await createTenant(), await createTenant()];
    const [s1, s2] = [await tenantSecret(t1.id), await tenantSecret(t2.id)];
    expect(await decryptSecret(s1.v, KEYS, secretContext.webhookSecret(s1.id))).toBe(t1.webhookSecret);
    await expect(decryptSecret(s1.v, KEYS, secretContext.webhookSecret(s2.id))).rejects.toMatchObject({ reason: "mismatch" });
  });

  it("decrypt with an older listed key, and not with a key no longer listed or without a key id", async ({ expect }) => {
    const host = await hostUnderK1();
    expect(storedKeyId(await hostCiphertext(host.id))).toBe("k1");
    expect((await heartbeat(host)).status).toBe(200);
    // k1 removed from the list: its values can no longer be read (so the sweep must run first).
    await expect(decryptSecret(await hostCiphertext(host.id), [K2], secretContext.hostSecret(host.id))).rejects.toMatchObject({
      reason: "unknown_key",
      kid: "k1",
    });
    // A value from before key ids (bare base64): not read.
    await expect(decryptSecret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", KEYS, "x")).rejects.toMatchObject({ reason: "malformed" });
  });

  it("move to the newest key in bounded steps, idempotently, and the counts say when k1 can go", async ({ expect }) => {
    const hosts = [await hostUnderK1(), await hostUnderK1(), await hostUnderK1()];
    const tenants = [await createTenant(), await createTenant(), await createTenant()];
    for (const t of tenants) {
      const s = await tenantSecret(t.id);
      await env.DB.prepare("UPDATE webhook_secrets SET secret_ciphertext = ? WHERE id = ?")
        .bind(await encryptSecret(t.webhookSecret, [K1], secretContext.webhookSecret(s.id)), s.id)
        .run();
    }
    const before = (await (await adminCall("/v1/admin/encryption")).json()) as { pending: number; keys: { kid: string; values: number }[] };
    expect(before.pending).toBeGreaterThanOrEqual(6);
    expect(before.keys.find((k) => k.kid === "k1")?.values).toBeGreaterThanOrEqual(6);

    const mine = async () => [
      ...(await Promise.all(hosts.map((h) => hostCiphertext(h.id)))),
      ...(await Promise.all(tenants.map(async (t) => (await tenantSecret(t.id)).v))),
    ];
    let steps = 0;
    while ((await mine()).some((v) => storedKeyId(v) === "k1")) {
      if (++steps > 20) throw new Error("the sweep does not finish");
      const res = await adminCall("/v1/admin/encryption/reencrypt", json({ limit: 1 }));
      expect(res.status).toBe(200);
      const step = (await res.json()) as { moved: number; failed: number };
      // At most `limit` values per encrypted column (3 columns).
      expect(step.moved).toBeLessThanOrEqual(3);
      expect(step.failed).toBe(0);
    }
    expect(steps).toBeGreaterThanOrEqual(3);
    const after = await mine();
    expect(after.map(storedKeyId)).toEqual(Array(6).fill("k2"));
    // Idempotent: another step leaves values already under k2 exactly as they are.
    await adminCall("/v1/admin/encryption/reencrypt", json({ limit: 1000 }));
    expect(await mine()).toEqual(after);
    const status = (await (await adminCall("/v1/admin/encryption")).json()) as {
      encrypting_key: string;
      pending: number;
      keys: { kid: string; listed: boolean; values: number }[];
    };
    expect(status).toMatchObject({ encrypting_key: "k2", pending: 0 });
    expect(status.keys.find((k) => k.kid === "k1")).toEqual({ kid: "k1", listed: true, values: 0 });
    // Everything still works under the new key.
    for (const h of hosts) expect((await heartbeat(h)).status).toBe(200);
    for (const t of tenants) {
      const s = await tenantSecret(t.id);
      expect(await decryptSecret(s.v, [K2], secretContext.webhookSecret(s.id))).toBe(t.webhookSecret);
    }
  });

  it("the cron moves values a step at a time; values under an unlisted key are counted as unreadable and left alone", async ({ expect }) => {
    const host = await hostUnderK1();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "* * * * *" }), env as unknown as Env, ctx);
    await waitOnExecutionContext(ctx);
    expect(storedKeyId(await hostCiphertext(host.id))).toBe("k2");
    expect((await heartbeat(host)).status).toBe(200);

    const t = await createTenant();
    const s = await tenantSecret(t.id);
    const k9 = { kid: "k9", secret: btoa("a key nobody lists any more 0123") };
    const orphan = await encryptSecret(t.webhookSecret, [k9], secretContext.webhookSecret(s.id));
    await env.DB.prepare("UPDATE webhook_secrets SET secret_ciphertext = ? WHERE id = ?").bind(orphan, s.id).run();
    const step = (await (await adminCall("/v1/admin/encryption/reencrypt", json({}))).json()) as { failed: number; status: Record<string, any> };
    expect(step.failed).toBe(0);
    expect(step.status.unreadable).toBeGreaterThanOrEqual(1);
    expect(step.status.keys).toContainEqual({ kid: "k9", listed: false, values: 1 });
    expect((await tenantSecret(t.id)).v).toBe(orphan);
  });

  it("takes a step with no body at all, or an empty one sent as JSON (found by test/worker/fuzz.test.ts: it was a 500)", async ({ expect }) => {
    for (const init of [{ method: "POST" }, { method: "POST", body: "", headers: { "Content-Type": "application/json" } }]) {
      const res = await adminCall("/v1/admin/encryption/reencrypt", init);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { moved: number }).moved).toBeGreaterThanOrEqual(0);
    }
  });

  it("refuses a bad step size with a problem that says the bounds", async ({ expect }) => {
    const zero = await expectProblem(await adminCall("/v1/admin/encryption/reencrypt", json({ limit: 0 })), 422, "validation-failed");
    expect(zero.detail).toContain("at least 1");
    await expectProblem(await adminCall("/v1/admin/encryption/reencrypt", json({ limit: 5000 })), 422, "validation-failed");
    await expectProblem(await adminCall("/v1/admin/encryption/reencrypt", json({ batch: 1 })), 422, "validation-failed");
  });
});
