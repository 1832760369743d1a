/** Queries on tenants and their webhook secrets. */
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { Position } from "../lib/cursor.ts";
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

/** A page of tenants, newest first, after `before`: a walk down tenants_created_idx that reads one page of rows, never the table. */
export function listTenantsQuery(db: Db, opts: { limit: number; before?: Position | undefined }) {
  return db
    .select()
    .from(tenants)
    .where(opts.before ? sql`(${tenants.createdAt}, ${tenants.id}) < (${opts.before.createdAt}, ${opts.before.id})` : undefined)
    .orderBy(desc(tenants.createdAt), desc(tenants.id))
    .limit(opts.limit);
}

export async function listTenants(db: Db, opts: { limit: number; before?: Position | undefined }): Promise<TenantRow[]> {
  return listTenantsQuery(db, opts).all();
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
