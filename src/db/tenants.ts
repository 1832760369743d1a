/** Queries on tenants and their webhook secrets. */
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "./client.ts";
import { type TenantRow, tenants, webhookSecrets } from "./schema.ts";

export type NewTenant = typeof tenants.$inferInsert;
export type TenantPatch = Partial<Omit<NewTenant, "id" | "createdAt">>;

/** Tenant and its first webhook secret in one atomic batch: never a tenant without a secret. */
export async function insertTenant(db: Db, tenant: NewTenant, secret: { id: string; ciphertext: string }): Promise<void> {
  await db.batch([
    db.insert(tenants).values(tenant),
    db.insert(webhookSecrets).values({ id: secret.id, tenantId: tenant.id, secretCiphertext: secret.ciphertext, createdAt: tenant.createdAt }),
  ]);
}

export async function getTenant(db: Db, id: string): Promise<TenantRow | undefined> {
  return db.select().from(tenants).where(eq(tenants.id, id)).get();
}

export async function findTenantByIssuer(db: Db, issuer: string): Promise<TenantRow | undefined> {
  return db.select().from(tenants).where(eq(tenants.jwtIssuer, issuer)).get();
}

export async function updateTenant(db: Db, id: string, patch: TenantPatch): Promise<TenantRow | undefined> {
  return db.update(tenants).set(patch).where(eq(tenants.id, id)).returning().get();
}

export async function activeWebhookSecrets(db: Db, tenantId: string) {
  return db
    .select()
    .from(webhookSecrets)
    .where(and(eq(webhookSecrets.tenantId, tenantId), isNull(webhookSecrets.retiredAt)))
    .orderBy(webhookSecrets.createdAt)
    .all();
}
