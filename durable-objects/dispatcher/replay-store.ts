/**
 * Replay protection for signed host messages, in the pool's Dispatcher storage: each message id
 * (host id + Standard Webhooks `webhook-id`) is claimed once and remembered until its signature
 * could no longer verify anyway, so a captured heartbeat or event cannot be sent twice. Claiming
 * is one synchronous statement, so two deliveries of one message cannot both win.
 *
 * Every host message claims an id, so the claim must cost the same however many are remembered:
 * an expired row is taken over in the claim itself (no sweep needed for correctness), and expired
 * rows are deleted at most once per SWEEP_EVERY_MS through the index on expires_at (a delete on
 * every claim, scanning the table, made the claim's cost grow with the message rate).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS seen (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_expires_idx ON seen (expires_at);
`;

const SWEEP_EVERY_MS = 1_000;

export class ReplayStore {
  private readonly sql: SqlStorage;
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    this.sql.exec(SCHEMA);
  }

  /** True the first time `id` is claimed before `expiresAt`; false for a replay. */
  claim(id: string, expiresAt: number, now: number): boolean {
    if (now - this.sweptAt >= SWEEP_EVERY_MS) {
      this.sweptAt = now;
      this.sql.exec("DELETE FROM seen WHERE expires_at <= ?", now);
    }
    const claimed = this.sql.exec(
      "INSERT INTO seen (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE seen.expires_at <= ?",
      id,
      expiresAt,
      now,
    );
    return claimed.rowsWritten > 0;
  }

  /** How many ids are remembered (for tests and the admin view). */
  size(): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM seen").one().n);
  }
}
