/**
 * Every column that holds a secret encrypted under DATA_ENCRYPTION_KEYS, with the associated
 * data that binds each value to its row and column. Writers and readers take the context from
 * here, and the re-encryption sweep and the per-key counts walk this same list, so a new
 * encrypted column is one entry here and nothing can be left under a retired key unnoticed.
 */
import type { Config } from "../config/schema.ts";
import type { DataKey } from "../lib/crypto.ts";
import { keysOf } from "../lib/key-list.ts";

export const secretContext = {
  webhookSecret: (id: string) => `webhook_secrets:${id}`,
  hostSecret: (id: string) => `gpu_hosts:${id}:current`,
  previousHostSecret: (id: string) => `gpu_hosts:${id}:previous`,
};

export interface EncryptedColumn {
  /** `table.column`, as the admin report names it. */
  name: string;
  table: string;
  column: string;
  /** The associated data of the value in the row with this id. */
  context: (id: string) => string;
}

export const ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  { name: "webhook_secrets.secret_ciphertext", table: "webhook_secrets", column: "secret_ciphertext", context: secretContext.webhookSecret },
  { name: "gpu_hosts.secret_ciphertext", table: "gpu_hosts", column: "secret_ciphertext", context: secretContext.hostSecret },
  { name: "gpu_hosts.previous_secret_ciphertext", table: "gpu_hosts", column: "previous_secret_ciphertext", context: secretContext.previousHostSecret },
];

/** DATA_ENCRYPTION_KEYS, newest (the one that encrypts) first. */
export function dataKeys(config: Pick<Config, "DATA_ENCRYPTION_KEYS">): DataKey[] {
  return keysOf(config.DATA_ENCRYPTION_KEYS);
}
