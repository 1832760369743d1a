/**
 * One-time host bootstrap tokens (src/protocol/bootstrap.ts). Only the token's SHA-256 is stored;
 * redeeming deletes the row in the statement that finds it, so of two concurrent redemptions of
 * one token exactly one gets the host.
 */
import { and, eq, gt, lte } from "drizzle-orm";
import { sha256Hex } from "../lib/crypto.ts";
import { toBase64Url } from "../protocol/encoding.ts";
import type { Db } from "./client.ts";
import { hostBootstrapTokens } from "./schema.ts";

export function newBootstrapToken(): string {
  return `cbt_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/**
 * A fresh token for the host, valid `ttlMs` from `now` (or records `token` when the caller made it
 * already, as the autoscaler does: it puts the token in the launch before the host is registered);
 * tokens the host had before stay valid until used or expired.
 */
export async function issueBootstrapToken(
  db: Db,
  hostId: string,
  ttlMs: number,
  now: number,
  token = newBootstrapToken(),
): Promise<{ token: string; expiresAt: number }> {
  const expiresAt = now + ttlMs;
  await db.batch([
    // Expired tokens of any host go at the same time: the table holds only live ones.
    db.delete(hostBootstrapTokens).where(lte(hostBootstrapTokens.expiresAt, now)),
    db.insert(hostBootstrapTokens).values({ tokenHash: await sha256Hex(token), hostId, expiresAt, createdAt: now }),
  ]);
  return { token, expiresAt };
}

/** The host the token was issued for, if it is unexpired and unused; it is used up either way it matched. */
export async function redeemBootstrapToken(db: Db, token: string, now: number): Promise<string | null> {
  const row = await db
    .delete(hostBootstrapTokens)
    .where(and(eq(hostBootstrapTokens.tokenHash, await sha256Hex(token)), gt(hostBootstrapTokens.expiresAt, now)))
    .returning({ hostId: hostBootstrapTokens.hostId })
    .get();
  return row?.hostId ?? null;
}
