/**
 * A tenant's webhook signing secrets (rotation). Every active secret signs every delivery, so a
 * rotation is: add a new secret, let the receiver accept it, retire the old one.
 *
 * Invariants, each kept by a single SQL statement (so concurrent admin calls cannot break them):
 * a tenant never has more than MAX_ACTIVE_SECRETS active secrets, and never fewer than one — the
 * last active secret cannot be retired. Secrets are stored encrypted (src/lib/crypto.ts) and
 * leave the API only once, in the response that created them.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { webhookSecrets } from "../db/schema.ts";

/** Bounds the `webhook-signature` header and the work per delivery. */
export const MAX_ACTIVE_SECRETS = 5;

export type WebhookSecretRow = typeof webhookSecrets.$inferSelect;

export async function listSecrets(db: Db, tenantId: string): Promise<WebhookSecretRow[]> {
  return db.select().from(webhookSecrets).where(eq(webhookSecrets.tenantId, tenantId)).orderBy(asc(webhookSecrets.createdAt), asc(webhookSecrets.id)).all();
}

const activeCount = (tenantId: string) => sql`(SELECT count(*) FROM webhook_secrets WHERE tenant_id = ${tenantId} AND retired_at IS NULL)`;

/** Adds a secret unless the tenant already has MAX_ACTIVE_SECRETS active ones. */
export async function addSecret(db: Db, row: { id: string; tenantId: string; ciphertext: string; now: number }): Promise<"added" | "too-many"> {
  const result = await db.run(sql`
    INSERT INTO webhook_secrets (id, tenant_id, secret_ciphertext, created_at)
    SELECT ${row.id}, ${row.tenantId}, ${row.ciphertext}, ${row.now}
    WHERE ${activeCount(row.tenantId)} < ${MAX_ACTIVE_SECRETS}`);
  return result.meta.changes === 1 ? "added" : "too-many";
}

export type RetireResult = { ok: true; row: WebhookSecretRow; alreadyRetired: boolean } | { ok: false; reason: "not-found" | "last-active" };

export async function retireSecret(db: Db, tenantId: string, secretId: string, now: number): Promise<RetireResult> {
  const own = and(eq(webhookSecrets.id, secretId), eq(webhookSecrets.tenantId, tenantId));
  const retired = await db
    .update(webhookSecrets)
    .set({ retiredAt: now })
    .where(and(own, sql`${webhookSecrets.retiredAt} IS NULL`, sql`${activeCount(tenantId)} > 1`))
    .returning()
    .get();
  if (retired) return { ok: true, row: retired, alreadyRetired: false };
  const row = await db.select().from(webhookSecrets).where(own).get();
  if (!row) return { ok: false, reason: "not-found" };
  if (row.retiredAt !== null) return { ok: true, row, alreadyRetired: true };
  return { ok: false, reason: "last-active" };
}
