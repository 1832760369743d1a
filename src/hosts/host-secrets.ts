/**
 * A GPU host's Standard Webhooks secrets: the current one, and during a rotation the one it
 * replaced, accepted until `previous_secret_expires_at` so the host can restart with its new
 * HOST_SECRET at any moment of the overlap without a refused request. Both are stored encrypted
 * (src/encryption/columns.ts: each bound to its own column of the host's row); after the overlap
 * the previous one is no longer read, and the re-encryption sweep clears it.
 */
import { and, eq } from "drizzle-orm";
import type { Config } from "../config/schema.ts";
import type { Db } from "../db/client.ts";
import { type GpuHostRow, gpuHosts } from "../db/schema.ts";
import { dataKeys, secretContext } from "../encryption/columns.ts";
import { decryptSecret, encryptSecret } from "../lib/crypto.ts";
import { newSecret } from "../protocol/standard-webhooks.ts";

/** The previous secret still counts at `now`. */
export function previousSecretLive(host: Pick<GpuHostRow, "previousSecretCiphertext" | "previousSecretExpiresAt">, now: number): boolean {
  return host.previousSecretCiphertext !== null && host.previousSecretExpiresAt !== null && host.previousSecretExpiresAt > now;
}

/** The secrets a request from this host may be signed with at `now`: current first. */
export async function acceptedSecrets(host: GpuHostRow, config: Pick<Config, "DATA_ENCRYPTION_KEYS">, now: number): Promise<string[]> {
  const keys = dataKeys(config);
  const current = await decryptSecret(host.secretCiphertext, keys, secretContext.hostSecret(host.id));
  if (!previousSecretLive(host, now)) return [current];
  return [current, await decryptSecret(host.previousSecretCiphertext!, keys, secretContext.previousHostSecret(host.id))];
}

export function currentSecret(host: GpuHostRow, config: Pick<Config, "DATA_ENCRYPTION_KEYS">): Promise<string> {
  return decryptSecret(host.secretCiphertext, dataKeys(config), secretContext.hostSecret(host.id));
}

export type RotateResult = { ok: true; secret: string; row: GpuHostRow } | { ok: false; reason: "raced" };

/**
 * Issues a new secret for `host`: the current one becomes the previous (valid `overlapMs` more),
 * an older previous one is dropped. The row changes only if its current secret is still the one
 * read, so two rotations at once cannot both think they replaced it.
 */
export async function rotateHostSecret(
  db: Db,
  config: Pick<Config, "DATA_ENCRYPTION_KEYS">,
  host: GpuHostRow,
  overlapMs: number,
  now: number,
): Promise<RotateResult> {
  const keys = dataKeys(config);
  const old = await currentSecret(host, config);
  const secret = newSecret();
  const row = await db
    .update(gpuHosts)
    .set({
      secretCiphertext: await encryptSecret(secret, keys, secretContext.hostSecret(host.id)),
      previousSecretCiphertext: await encryptSecret(old, keys, secretContext.previousHostSecret(host.id)),
      previousSecretExpiresAt: now + overlapMs,
      updatedAt: now,
    })
    .where(and(eq(gpuHosts.id, host.id), eq(gpuHosts.secretCiphertext, host.secretCiphertext)))
    .returning()
    .get();
  return row ? { ok: true, secret, row } : { ok: false, reason: "raced" };
}
