/**
 * Moving stored secrets to the newest DATA_ENCRYPTION_KEYS key, and counting what is under each
 * key, so an operator knows when an old key can leave the list (docs/RUNBOOK.md).
 *
 * A step reads at most `limit` values per encrypted column that are under a listed key other than
 * the newest, decrypts each with its own row's associated data and writes it back under the
 * newest key only if the value is still the one read (a concurrent writer wins; the next step
 * sees its value). Steps are idempotent: values already under the newest key are never selected,
 * and values under no listed key are never selected either (they are reported as unreadable
 * rather than retried forever). The same step forgets host secrets whose overlap has ended.
 */
import type { Config } from "../config/schema.ts";
import { decryptSecret, encryptSecret, UndecryptableSecret } from "../lib/crypto.ts";
import type { Logger } from "../lib/log.ts";
import { dataKeys, ENCRYPTED_COLUMNS, type EncryptedColumn } from "./columns.ts";

/** The key id of a stored value, in SQL: null for a value without one (not `v1.<kid>.…`). */
const kidSql = (column: string) => `CASE WHEN ${column} LIKE 'v1.%.%' THEN substr(${column}, 4, instr(substr(${column}, 4), '.') - 1) END`;

export interface ColumnCount {
  column: string;
  /** Values per key id (values without a key id are under `without_key_id`). */
  by_key: Record<string, number>;
  without_key_id: number;
}

export interface EncryptionStatus {
  /** The key new values are encrypted with (the first of DATA_ENCRYPTION_KEYS). */
  encrypting_key: string;
  keys: { kid: string; listed: boolean; values: number }[];
  columns: ColumnCount[];
  /** Values under a listed key other than the newest: what the re-encryption still has to move. */
  pending: number;
  /** Values under a key that is not listed, or without a key id: nothing can read them. */
  unreadable: number;
}

async function countColumn(db: D1Database, col: EncryptedColumn): Promise<ColumnCount> {
  const { results } = await db
    .prepare(`SELECT ${kidSql(col.column)} AS kid, count(*) AS n FROM ${col.table} WHERE ${col.column} IS NOT NULL GROUP BY kid`)
    .all<{ kid: string | null; n: number }>();
  const out: ColumnCount = { column: col.name, by_key: {}, without_key_id: 0 };
  for (const r of results) {
    if (r.kid === null) out.without_key_id += r.n;
    else out.by_key[r.kid] = r.n;
  }
  return out;
}

export async function encryptionStatus(db: D1Database, config: Pick<Config, "DATA_ENCRYPTION_KEYS">): Promise<EncryptionStatus> {
  const keys = dataKeys(config);
  const columns = await Promise.all(ENCRYPTED_COLUMNS.map((c) => countColumn(db, c)));
  const totals = new Map<string, number>(keys.map((k) => [k.kid, 0]));
  let withoutKid = 0;
  for (const c of columns) {
    withoutKid += c.without_key_id;
    for (const [kid, n] of Object.entries(c.by_key)) totals.set(kid, (totals.get(kid) ?? 0) + n);
  }
  const listed = new Set(keys.map((k) => k.kid));
  const newest = keys[0]!.kid;
  let pending = 0;
  let unreadable = withoutKid;
  for (const [kid, n] of totals) {
    if (!listed.has(kid)) unreadable += n;
    else if (kid !== newest) pending += n;
  }
  return {
    encrypting_key: newest,
    keys: [...totals].map(([kid, values]) => ({ kid, listed: listed.has(kid), values })),
    columns,
    pending,
    unreadable,
  };
}

export interface ReencryptResult {
  /** Values now under the newest key. */
  moved: number;
  /** Values under a listed key that did not decrypt (not their row's, or damaged): logged, left as they are. */
  failed: number;
  /** Previous host secrets forgotten because their overlap had ended. */
  expired_host_secrets: number;
}

/** One bounded step: at most `limit` values per column move to the newest key. */
export async function reencryptStep(
  db: D1Database,
  config: Pick<Config, "DATA_ENCRYPTION_KEYS">,
  limit: number,
  log: Logger,
  now = Date.now(),
): Promise<ReencryptResult> {
  const keys = dataKeys(config);
  const [newest, ...older] = keys;
  const result: ReencryptResult = { moved: 0, failed: 0, expired_host_secrets: 0 };
  const expired = await db
    .prepare(
      "UPDATE gpu_hosts SET previous_secret_ciphertext = NULL, previous_secret_expires_at = NULL WHERE previous_secret_ciphertext IS NOT NULL AND (previous_secret_expires_at IS NULL OR previous_secret_expires_at <= ?)",
    )
    .bind(now)
    .run();
  result.expired_host_secrets = expired.meta.changes ?? 0;
  if (!newest || older.length === 0 || limit <= 0) return result;
  const olderKids = older.map((k) => k.kid);
  for (const col of ENCRYPTED_COLUMNS) {
    const { results } = await db
      .prepare(
        `SELECT id, ${col.column} AS value FROM ${col.table} WHERE ${kidSql(col.column)} IN (${olderKids.map(() => "?").join(", ")}) ORDER BY id LIMIT ?`,
      )
      .bind(...olderKids, limit)
      .all<{ id: string; value: string }>();
    for (const row of results) {
      const context = col.context(row.id);
      let plain: string;
      try {
        plain = await decryptSecret(row.value, keys, context);
      } catch (err) {
        if (!(err instanceof UndecryptableSecret)) throw err;
        result.failed++;
        log.error("reencrypt_unreadable", { column: col.name, id: row.id, reason: err.reason, kid: err.kid });
        continue;
      }
      const next = await encryptSecret(plain, keys, context);
      const write = await db.prepare(`UPDATE ${col.table} SET ${col.column} = ? WHERE id = ? AND ${col.column} = ?`).bind(next, row.id, row.value).run();
      if ((write.meta.changes ?? 0) > 0) result.moved++;
    }
  }
  return result;
}
