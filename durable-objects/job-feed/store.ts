/**
 * A JobFeed's SQLite tables: the job's events in the order they were recorded (`id` only grows:
 * AUTOINCREMENT never reuses one), the feed's state (src/feed/rules.ts) and the latest preview
 * frame (one row, replaced by each new frame, dropped when the job ends).
 */
import type { FeedInput } from "../../src/feed/events.ts";
import type { FeedState } from "../../src/feed/rules.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  job_id TEXT NOT NULL,
  pool TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  percent REAL,
  position INTEGER,
  count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS preview (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  attempt INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  bytes BLOB NOT NULL,
  at INTEGER NOT NULL
);
`;

export interface StoredEvent {
  id: number;
  input: FeedInput;
}

export interface FeedMeta {
  jobId: string;
  pool: string;
}

export interface PreviewFrame {
  attempt: number;
  contentType: string;
  bytes: Uint8Array;
  at: number;
}

export class FeedStore {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(SCHEMA);
  }

  state(): (FeedState & FeedMeta) | undefined {
    const r = this.sql
      .exec<{ job_id: string; pool: string; status: FeedState["status"]; attempt: number; percent: number | null; position: number | null; count: number }>(
        "SELECT job_id, pool, status, attempt, percent, position, count FROM state WHERE only = 1",
      )
      .toArray()[0];
    return r && { jobId: r.job_id, pool: r.pool, status: r.status, attempt: r.attempt, percent: r.percent, position: r.position, count: r.count };
  }

  /** Records `events` and the state after them, atomically (one synchronous run). */
  record(meta: FeedMeta, state: FeedState, events: FeedInput[]): number[] {
    const ids = events.map(
      (e) => this.sql.exec<{ id: number }>("INSERT INTO events (type, data) VALUES (?, ?) RETURNING id", e.type, JSON.stringify(e)).one().id,
    );
    this.sql.exec(
      `INSERT INTO state (only, job_id, pool, status, attempt, percent, position, count) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (only) DO UPDATE SET status = excluded.status, attempt = excluded.attempt, percent = excluded.percent,
         position = excluded.position, count = excluded.count`,
      meta.jobId,
      meta.pool,
      state.status,
      state.attempt,
      state.percent,
      state.position,
      state.count,
    );
    return ids;
  }

  /** Events after `id`, oldest first, at most `limit`. */
  after(id: number, limit: number): StoredEvent[] {
    return this.sql
      .exec<{ id: number; data: string }>("SELECT id, data FROM events WHERE id > ? ORDER BY id LIMIT ?", id, limit)
      .toArray()
      .map((r) => ({ id: r.id, input: JSON.parse(r.data) as FeedInput }));
  }

  lastId(): number {
    return this.sql.exec<{ id: number | null }>("SELECT max(id) AS id FROM events").one().id ?? 0;
  }

  setPreview(frame: PreviewFrame): void {
    this.sql.exec(
      `INSERT INTO preview (only, attempt, content_type, bytes, at) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (only) DO UPDATE SET attempt = excluded.attempt, content_type = excluded.content_type, bytes = excluded.bytes, at = excluded.at`,
      frame.attempt,
      frame.contentType,
      frame.bytes,
      frame.at,
    );
  }

  preview(): PreviewFrame | undefined {
    const r = this.sql
      .exec<{ attempt: number; content_type: string; bytes: ArrayBuffer; at: number }>("SELECT attempt, content_type, bytes, at FROM preview WHERE only = 1")
      .toArray()[0];
    return r && { attempt: r.attempt, contentType: r.content_type, bytes: new Uint8Array(r.bytes), at: r.at };
  }

  dropPreview(): void {
    this.sql.exec("DELETE FROM preview");
  }
}
