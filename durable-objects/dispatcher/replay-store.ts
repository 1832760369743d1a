/**
 * Replay protection for signed host messages, in the pool's Dispatcher storage: each message id
 * (host id + Standard Webhooks `webhook-id`) is claimed once and remembered until its signature
 * could no longer verify anyway, so a captured heartbeat or event cannot be sent twice. Claiming
 * is one synchronous statement, so two deliveries of one message cannot both win.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS seen (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
`;

export class ReplayStore {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    this.sql.exec(SCHEMA);
  }

  /** True the first time `id` is claimed before `expiresAt`; false for a replay. */
  claim(id: string, expiresAt: number, now: number): boolean {
    this.sql.exec("DELETE FROM seen WHERE expires_at <= ?", now);
    return this.sql.exec("INSERT OR IGNORE INTO seen (id, expires_at) VALUES (?, ?)", id, expiresAt).rowsWritten > 0;
  }
}
