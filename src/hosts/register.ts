/**
 * Registering a GPU host: its row in D1 with a fresh secret (encrypted at rest) and its place in
 * the pool's Dispatcher. Shared by the admin API (an operator's host) and the autoscaler (a host it
 * launched, which receives its secret through a bootstrap token instead of a person).
 */
import type { Config } from "../config/schema.ts";
import type { Db } from "../db/client.ts";
import { hostsPerShard, insertHost } from "../db/hosts.ts";
import type { GpuHostRow } from "../db/schema.ts";
import { dispatcherOfHost } from "../dispatch/route.ts";
import { leastHosted } from "../dispatch/shards.ts";
import { dataKeys, secretContext } from "../encryption/columns.ts";
import type { Env } from "../env.ts";
import { encryptSecret } from "../lib/crypto.ts";
import { newSecret } from "../protocol/standard-webhooks.ts";
import { edgeJwks, type Jwks } from "./edge-keys.ts";

export interface NewHost {
  id: string;
  pool: string;
  url: string;
  slots: number;
  /** The pool's dispatcher_shards, from the pool row the caller read. */
  poolShards: number;
}

/** What the host must hold: its secret (HOST_SECRET) and the keys it pins (EDGE_JWKS). */
export interface HostCredentials {
  secret: string;
  edgeJwks: Jwks;
}

export async function registerHost(env: Env, db: Db, config: Config, host: NewHost, now: number): Promise<{ row: GpuHostRow; credentials: HostCredentials }> {
  const secret = newSecret();
  const shard = host.poolShards > 1 ? leastHosted(await hostsPerShard(db, host.pool), host.poolShards) : 0;
  const row: GpuHostRow = {
    id: host.id,
    pool: host.pool,
    url: host.url.replace(/\/+$/, ""),
    slots: host.slots,
    secretCiphertext: await encryptSecret(secret, dataKeys(config), secretContext.hostSecret(host.id)),
    previousSecretCiphertext: null,
    previousSecretExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    drainingAt: null,
    dispatcherShard: shard,
  };
  await insertHost(db, row);
  await dispatcherOfHost(env, row).registerHost({ id: row.id, url: row.url, slots: row.slots });
  return { row, credentials: { secret, edgeJwks: edgeJwks(config) } };
}
