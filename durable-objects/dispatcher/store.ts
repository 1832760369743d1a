/**
 * The Dispatcher's own SQLite tables and every query on them. All synchronous: a dispatch
 * decision (read the hosts and the tenants' lines, let src/dispatch/policy.ts choose, write the
 * assignment, drop the queue row) runs without an `await`, so two decisions can never hand out
 * the same slot or the same job.
 *
 * Layout (see docs/dispatch.md):
 *   hosts        registered hosts of this pool and their last heartbeat
 *   queue        jobs waiting for a GPU, ordered by (enqueued_at, job_id) within a tenant
 *   lines        per (tenant, needs) with jobs queued, how many: kept by triggers on `queue`, so
 *                each line's head is an index seek and no decision reads the whole queue
 *   turns        per tenant, the dispatch turn it last got (round-robin fairness)
 *   assignments  jobs on hosts: (job_id, attempt, lease_id) is the fencing token
 *   catalogs     per distinct host catalog (by hash), its summary: class and model names
 *   needs        per distinct set of needs (node classes, model files) of queued or assigned jobs;
 *                id 0 is "no needs" (jobs from before placement), never stored
 *   watched      queued jobs whose feed has watchers, with the position last published to it
 * (Replay protection for host messages keeps its own table: replay-store.ts.)
 */

import type { HostLoad, HostState, TenantLine } from "../../src/dispatch/policy.ts";

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS hosts (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  slots INTEGER NOT NULL,
  capacity INTEGER NOT NULL DEFAULT 0,
  last_heartbeat_at INTEGER,
  draining INTEGER NOT NULL DEFAULT 0,
  comfy TEXT NOT NULL DEFAULT 'starting',
  lock_hash TEXT,
  version TEXT,
  unavailable_until INTEGER NOT NULL DEFAULT 0,
  catalog_hash TEXT,
  resident_models TEXT NOT NULL DEFAULT '[]',
  recent_models TEXT NOT NULL DEFAULT '[]',
  edge_kids TEXT
);
CREATE TABLE IF NOT EXISTS needs (
  id INTEGER PRIMARY KEY,
  doc TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS catalogs (
  hash TEXT PRIMARY KEY,
  summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (
  job_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  enqueued_at INTEGER NOT NULL,
  queue_deadline_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  needs_id INTEGER NOT NULL DEFAULT 0,
  passed_over INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_tenant_order ON queue (tenant_id, enqueued_at, job_id);
CREATE INDEX IF NOT EXISTS queue_line_order ON queue (tenant_id, needs_id, enqueued_at, job_id);
CREATE TABLE IF NOT EXISTS lines (
  tenant_id TEXT NOT NULL,
  needs_id INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, needs_id)
);
CREATE TRIGGER IF NOT EXISTS queue_line_in AFTER INSERT ON queue BEGIN
  INSERT OR IGNORE INTO lines (tenant_id, needs_id, n) VALUES (NEW.tenant_id, NEW.needs_id, 0);
  UPDATE lines SET n = n + 1 WHERE tenant_id = NEW.tenant_id AND needs_id = NEW.needs_id;
END;
CREATE TRIGGER IF NOT EXISTS queue_line_out AFTER DELETE ON queue BEGIN
  UPDATE lines SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND needs_id = OLD.needs_id;
  DELETE FROM lines WHERE tenant_id = OLD.tenant_id AND needs_id = OLD.needs_id AND n <= 0;
END;
CREATE TRIGGER IF NOT EXISTS queue_line_move AFTER UPDATE OF tenant_id, needs_id ON queue BEGIN
  UPDATE lines SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND needs_id = OLD.needs_id;
  DELETE FROM lines WHERE tenant_id = OLD.tenant_id AND needs_id = OLD.needs_id AND n <= 0;
  INSERT OR IGNORE INTO lines (tenant_id, needs_id, n) VALUES (NEW.tenant_id, NEW.needs_id, 0);
  UPDATE lines SET n = n + 1 WHERE tenant_id = NEW.tenant_id AND needs_id = NEW.needs_id;
END;
CREATE INDEX IF NOT EXISTS queue_deadline ON queue (queue_deadline_at);
CREATE TABLE IF NOT EXISTS turns (
  tenant_id TEXT PRIMARY KEY,
  turn INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (
  job_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  host_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  lease_id TEXT NOT NULL,
  lease_expires_at INTEGER NOT NULL,
  deadline_at INTEGER NOT NULL,
  dispatched_at INTEGER NOT NULL,
  accepted INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  last_seq INTEGER NOT NULL DEFAULT -1,
  enqueued_at INTEGER NOT NULL,
  queue_deadline_at INTEGER NOT NULL,
  gpu_released INTEGER NOT NULL DEFAULT 0,
  needs_id INTEGER NOT NULL DEFAULT 0,
  previews INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS watched (
  job_id TEXT PRIMARY KEY,
  position INTEGER
);
CREATE INDEX IF NOT EXISTS assignments_host ON assignments (host_id);
CREATE INDEX IF NOT EXISTS assignments_lease ON assignments (lease_expires_at);
CREATE INDEX IF NOT EXISTS assignments_deadline ON assignments (deadline_at);
CREATE TABLE IF NOT EXISTS pool_name (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;

/** A `hosts` row: what the policy reads of a host (HostState), plus where it is and what it runs. */
export interface HostRow extends HostState {
  url: string;
  version: string | null;
  catalog_hash: string | null;
  /** JSON array of "folder/name". */
  resident_models: string;
  /** JSON array of the model files named by the job last dispatched to it (warm once it runs). */
  recent_models: string;
  /** JSON array of the edge key ids the host said it pins (null: it never said). */
  edge_kids: string | null;
}

export interface QueueRow {
  job_id: string;
  tenant_id: string;
  user_id: string;
  enqueued_at: number;
  queue_deadline_at: number;
  attempts: number;
  /** Its needs (the `needs` table; 0: none). */
  needs_id: number;
  /** Times a host took another job in its place for model affinity (bounded). */
  passed_over: number;
}

export interface AssignmentRow {
  job_id: string;
  tenant_id: string;
  user_id: string;
  host_id: string;
  attempt: number;
  lease_id: string;
  lease_expires_at: number;
  deadline_at: number;
  dispatched_at: number;
  accepted: number;
  cancel_requested: number;
  last_seq: number;
  enqueued_at: number;
  queue_deadline_at: number;
  /** 1 once the host said ComfyUI is done with it (uploading): it no longer holds a GPU slot. */
  gpu_released: number;
  needs_id: number;
  /** 1 when the host was asked to forward previews (the pool had them on at dispatch). */
  previews: number;
}

/**
 * The part of a Durable Object's SqlStorage this store uses, as a structural type: the same code
 * also runs on node:sqlite (bench/dispatcher-store.ts measures it there).
 */
export interface SqlExec {
  exec<T extends Record<string, ArrayBuffer | string | number | null>>(query: string, ...bindings: unknown[]): { toArray(): T[]; rowsWritten: number };
}

type Row = Record<string, ArrayBuffer | string | number | null>;

function addColumns(sql: SqlExec, table: string, columns: Record<string, string>): void {
  const have = new Set(
    sql
      .exec<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`)
      .toArray()
      .map((c) => c.name),
  );
  for (const [name, type] of Object.entries(columns)) if (!have.has(name)) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
}

export class DispatcherStore {
  private readonly sql: SqlExec;

  constructor(sql: SqlExec) {
    this.sql = sql;
    sql.exec(SCHEMA);
    // Objects created before a column existed get it (CREATE IF NOT EXISTS skips them).
    addColumns(sql, "assignments", {
      gpu_released: "INTEGER NOT NULL DEFAULT 0",
      needs_id: "INTEGER NOT NULL DEFAULT 0",
      previews: "INTEGER NOT NULL DEFAULT 0",
    });
    addColumns(sql, "hosts", {
      catalog_hash: "TEXT",
      resident_models: "TEXT NOT NULL DEFAULT '[]'",
      recent_models: "TEXT NOT NULL DEFAULT '[]'",
      edge_kids: "TEXT",
    });
    addColumns(sql, "queue", { needs_id: "INTEGER NOT NULL DEFAULT 0", passed_over: "INTEGER NOT NULL DEFAULT 0" });
    // An object whose queue predates `lines` counts it once; the triggers keep it from then on.
    if (sql.exec("SELECT 1 FROM meta WHERE key = 'lines_v1'").toArray().length === 0) {
      sql.exec("DELETE FROM lines");
      sql.exec("INSERT INTO lines (tenant_id, needs_id, n) SELECT tenant_id, needs_id, count(*) FROM queue GROUP BY tenant_id, needs_id");
      sql.exec("INSERT INTO meta (key, value) VALUES ('lines_v1', 1)");
    }
  }

  private all<T>(query: string, ...params: unknown[]): T[] {
    return this.sql.exec<Row>(query, ...params).toArray() as T[];
  }

  private first<T>(query: string, ...params: unknown[]): T | undefined {
    return this.all<T>(query, ...params)[0];
  }

  // ===== Hosts

  /** The pool this object serves, once it has been told (see Dispatcher.pool()). */
  poolName(): string | undefined {
    return this.first<{ name: string }>("SELECT name FROM pool_name WHERE only = 1")?.name;
  }

  setPoolName(name: string): void {
    this.sql.exec("INSERT INTO pool_name (only, name) VALUES (1, ?) ON CONFLICT (only) DO NOTHING", name);
  }

  upsertHost(id: string, url: string, slots: number): void {
    this.sql.exec(
      "INSERT INTO hosts (id, url, slots) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET url = excluded.url, slots = excluded.slots, draining = 0",
      id,
      url,
      slots,
    );
  }

  host(id: string): HostRow | undefined {
    return this.first<HostRow>("SELECT * FROM hosts WHERE id = ?", id);
  }

  hosts(): HostRow[] {
    return this.all<HostRow>("SELECT * FROM hosts ORDER BY id");
  }

  setDraining(id: string, draining: boolean): boolean {
    return this.sql.exec("UPDATE hosts SET draining = ? WHERE id = ?", draining ? 1 : 0, id).rowsWritten > 0;
  }

  removeHost(id: string): void {
    this.sql.exec("DELETE FROM hosts WHERE id = ?", id);
    this.dropUnusedCatalogs();
  }

  recordHeartbeat(id: string, hb: { at: number; capacity: number; draining: boolean; comfy: string; lockHash: string; version: string }): void {
    this.sql.exec(
      "UPDATE hosts SET last_heartbeat_at = ?, capacity = ?, comfy = ?, lock_hash = ?, version = ?, unavailable_until = 0, draining = CASE WHEN ? THEN 1 ELSE draining END WHERE id = ?",
      hb.at,
      hb.capacity,
      hb.comfy,
      hb.lockHash,
      hb.version,
      hb.draining ? 1 : 0,
      id,
    );
  }

  /**
   * What a heartbeat says of the host's catalog; a heartbeat without the fields changes nothing.
   * (Unused summaries are dropped only when a catalog is set or a host removed, so a heartbeat
   * composed just before a publish, naming the previous hash, costs no re-upload.)
   */
  recordCatalogState(id: string, catalogHash: string | undefined, residentModels: string[] | undefined): void {
    if (catalogHash !== undefined) this.sql.exec("UPDATE hosts SET catalog_hash = ? WHERE id = ?", catalogHash, id);
    if (residentModels !== undefined) this.sql.exec("UPDATE hosts SET resident_models = ? WHERE id = ?", JSON.stringify(residentModels), id);
  }

  /** The edge keys a heartbeat says the host pins (a heartbeat without them changes nothing). */
  recordEdgeKids(id: string, kids: string[] | undefined): void {
    if (kids !== undefined) this.sql.exec("UPDATE hosts SET edge_kids = ? WHERE id = ?", JSON.stringify(kids), id);
  }

  /** Keeps a catalog's summary (once per hash) and points the host at it. */
  setCatalog(id: string, hash: string, summary: string): void {
    this.sql.exec("INSERT INTO catalogs (hash, summary) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING", hash, summary);
    this.sql.exec("UPDATE hosts SET catalog_hash = ? WHERE id = ?", hash, id);
    this.dropUnusedCatalogs();
  }

  catalogHashesInUse(): string[] {
    return this.all<{ hash: string }>("SELECT catalog_hash AS hash FROM hosts WHERE catalog_hash IS NOT NULL UNION SELECT hash FROM catalogs").map(
      (r) => r.hash,
    );
  }

  hasCatalog(hash: string): boolean {
    return this.all("SELECT 1 FROM catalogs WHERE hash = ?", hash).length > 0;
  }

  catalogSummary(hash: string): string | undefined {
    return this.first<{ summary: string }>("SELECT summary FROM catalogs WHERE hash = ?", hash)?.summary;
  }

  /** Summaries no host points at any more (hosts changed or were removed). */
  dropUnusedCatalogs(): void {
    this.sql.exec("DELETE FROM catalogs WHERE hash NOT IN (SELECT catalog_hash FROM hosts WHERE catalog_hash IS NOT NULL)");
  }

  /** Keeps a host out of dispatch for a while (it refused or did not answer a dispatch). */
  markUnavailable(id: string, until: number): void {
    this.sql.exec("UPDATE hosts SET unavailable_until = ? WHERE id = ?", until, id);
  }

  /** Every host with the number of its jobs still holding a GPU slot: what pickHost() chooses from. */
  hostLoads(): HostLoad<HostRow>[] {
    return this.all<HostLoad<HostRow>>(
      "SELECT h.*, (SELECT count(*) FROM assignments a WHERE a.host_id = h.id AND a.gpu_released = 0) AS held FROM hosts h ORDER BY h.id",
    );
  }

  // ===== Queue

  enqueue(row: Omit<QueueRow, "passed_over">): boolean {
    return (
      this.sql.exec(
        "INSERT OR IGNORE INTO queue (job_id, tenant_id, user_id, enqueued_at, queue_deadline_at, attempts, needs_id, passed_over) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
        row.job_id,
        row.tenant_id,
        row.user_id,
        row.enqueued_at,
        row.queue_deadline_at,
        row.attempts,
        row.needs_id,
      ).rowsWritten > 0
    );
  }

  queued(jobId: string): QueueRow | undefined {
    return this.first<QueueRow>("SELECT * FROM queue WHERE job_id = ?", jobId);
  }

  dequeue(jobId: string): boolean {
    return this.sql.exec("DELETE FROM queue WHERE job_id = ?", jobId).rowsWritten > 0;
  }

  /**
   * Each tenant's line: head job (oldest, then lowest id), length and last turn. With `needsIds`,
   * only the jobs with those needs count (the jobs some free host can run). One index seek per
   * (tenant, needs) line, whatever the queue's depth.
   */
  tenantLines(needsIds?: readonly number[]): TenantLine[] {
    const filter = needsIds === undefined ? "" : "WHERE l.needs_id IN (SELECT value FROM json_each(?))";
    const params = needsIds === undefined ? [] : [JSON.stringify(needsIds)];
    const rows = this.all<{ tenant_id: string; n: number; turn: number; job_id: string; enqueued_at: number }>(
      `SELECT h.tenant_id, h.n, h.turn, q.job_id, q.enqueued_at
         FROM (SELECT l.tenant_id, l.n, coalesce(t.turn, 0) AS turn,
                      (SELECT job_id FROM queue WHERE tenant_id = l.tenant_id AND needs_id = l.needs_id
                        ORDER BY enqueued_at, job_id LIMIT 1) AS head_id
                 FROM lines l LEFT JOIN turns t ON t.tenant_id = l.tenant_id ${filter}) h
         JOIN queue q ON q.job_id = h.head_id`,
      ...params,
    );
    const byTenant = new Map<string, TenantLine>();
    for (const r of rows) {
      const line = byTenant.get(r.tenant_id);
      if (!line) {
        byTenant.set(r.tenant_id, { tenantId: r.tenant_id, turn: r.turn, head: { jobId: r.job_id, enqueuedAt: r.enqueued_at }, length: r.n });
        continue;
      }
      line.length += r.n;
      const earlier = r.enqueued_at < line.head.enqueuedAt || (r.enqueued_at === line.head.enqueuedAt && r.job_id < line.head.jobId);
      if (earlier) line.head = { jobId: r.job_id, enqueuedAt: r.enqueued_at };
    }
    return [...byTenant.values()];
  }

  /** Jobs of the same tenant queued before this one. */
  earlierInLine(job: Pick<QueueRow, "tenant_id" | "enqueued_at" | "job_id">): number {
    return this.first<{ n: number }>(
      "SELECT count(*) AS n FROM queue WHERE tenant_id = ? AND (enqueued_at, job_id) < (?, ?)",
      job.tenant_id,
      job.enqueued_at,
      job.job_id,
    )!.n;
  }

  /** The id of a set of needs (stored once; 0 for none). `doc` is its canonical JSON. */
  needsId(doc: string | undefined): number {
    if (doc === undefined) return 0;
    this.sql.exec("INSERT INTO needs (doc) VALUES (?) ON CONFLICT (doc) DO NOTHING", doc);
    return this.first<{ id: number }>("SELECT id FROM needs WHERE doc = ?", doc)!.id;
  }

  needsDoc(id: number): string | undefined {
    return id === 0 ? undefined : this.first<{ doc: string }>("SELECT doc FROM needs WHERE id = ?", id)?.doc;
  }

  /** The distinct needs of queued jobs, with how many jobs have each. */
  queuedNeeds(): { needs_id: number; n: number }[] {
    return this.all("SELECT needs_id, sum(n) AS n FROM lines GROUP BY needs_id ORDER BY needs_id");
  }

  /** Needs no queued or assigned job has any more. */
  dropUnusedNeeds(): void {
    this.sql.exec("DELETE FROM needs WHERE id NOT IN (SELECT needs_id FROM queue UNION SELECT needs_id FROM assignments)");
  }

  passOver(jobId: string): void {
    this.sql.exec("UPDATE queue SET passed_over = passed_over + 1 WHERE job_id = ?", jobId);
  }

  /** The model files of the job just dispatched to a host: what it will hold once that job runs. */
  setRecentModels(hostId: string, models: readonly string[]): void {
    this.sql.exec("UPDATE hosts SET recent_models = ? WHERE id = ?", JSON.stringify(models), hostId);
  }

  takeTurn(tenantId: string): void {
    const next = (this.first<{ v: number }>("SELECT value AS v FROM meta WHERE key = 'turn'")?.v ?? 0) + 1;
    this.sql.exec("INSERT INTO meta (key, value) VALUES ('turn', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", next);
    this.sql.exec("INSERT INTO turns (tenant_id, turn) VALUES (?, ?) ON CONFLICT (tenant_id) DO UPDATE SET turn = excluded.turn", tenantId, next);
  }

  /**
   * Moving averages of the pool's recent jobs, for estimates (src/dispatch/estimate.ts):
   * `service_ms`, how long a job holds a GPU (ComfyUI's execution time as the host measured it);
   * `tail_ms`, from the GPU's release to the job's end (collecting and uploading outputs).
   */
  recordMean(key: "service_ms" | "tail_ms", ms: number): void {
    const old = this.mean(key);
    const next = old === undefined ? ms : Math.round(old * 0.8 + ms * 0.2);
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, Math.max(0, Math.round(next)));
  }

  /** The pool's shard count as the Worker last told it (undefined: never told, so one). */
  shardCount(): number | undefined {
    return this.first<{ v: number }>("SELECT value AS v FROM meta WHERE key = 'shards'")?.v;
  }

  setShardCount(n: number): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES ('shards', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", n);
  }

  mean(key: "service_ms" | "tail_ms"): number | undefined {
    return this.first<{ v: number }>("SELECT value AS v FROM meta WHERE key = ?", key)?.v;
  }

  /** Per host, how long each job it holds on a GPU has been dispatched, oldest first. */
  heldElapsed(now: number): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const r of this.all<{ host_id: string; dispatched_at: number }>(
      "SELECT host_id, dispatched_at FROM assignments WHERE gpu_released = 0 ORDER BY dispatched_at, job_id",
    )) {
      out.set(r.host_id, [...(out.get(r.host_id) ?? []), Math.max(0, now - r.dispatched_at)]);
    }
    return out;
  }

  /** The jobs a host holds on a GPU, in heldElapsed()'s order. */
  heldJobIds(hostId: string): string[] {
    return this.all<{ job_id: string }>("SELECT job_id FROM assignments WHERE host_id = ? AND gpu_released = 0 ORDER BY dispatched_at, job_id", hostId).map(
      (r) => r.job_id,
    );
  }

  // ===== Watched jobs (their feeds get job.position)

  watch(jobId: string): void {
    this.sql.exec("INSERT INTO watched (job_id, position) VALUES (?, NULL) ON CONFLICT (job_id) DO NOTHING", jobId);
  }

  isWatched(jobId: string): boolean {
    return this.all("SELECT 1 FROM watched WHERE job_id = ?", jobId).length > 0;
  }

  unwatch(jobId: string): void {
    this.sql.exec("DELETE FROM watched WHERE job_id = ?", jobId);
  }

  watched(limit: number): { job_id: string; position: number | null }[] {
    return this.all("SELECT job_id, position FROM watched ORDER BY job_id LIMIT ?", limit);
  }

  setWatchedPosition(jobId: string, position: number): void {
    this.sql.exec("UPDATE watched SET position = ? WHERE job_id = ?", position, jobId);
  }

  setPreviews(jobId: string, attempt: number, on: boolean): void {
    this.sql.exec("UPDATE assignments SET previews = ? WHERE job_id = ? AND attempt = ?", on ? 1 : 0, jobId, attempt);
  }

  queueDepth(): { depth: number; oldest: number | null } {
    // The oldest queued job heads its tenant's line.
    const lines = this.tenantLines();
    return { depth: lines.reduce((n, l) => n + l.length, 0), oldest: lines.length === 0 ? null : Math.min(...lines.map((l) => l.head.enqueuedAt)) };
  }

  queueTimedOut(now: number, limit = 100): QueueRow[] {
    return this.all<QueueRow>("SELECT * FROM queue WHERE queue_deadline_at <= ? ORDER BY queue_deadline_at LIMIT ?", now, limit);
  }

  // ===== Assignments

  assign(a: AssignmentRow): void {
    this.sql.exec(
      `INSERT INTO assignments (job_id, tenant_id, user_id, host_id, attempt, lease_id, lease_expires_at, deadline_at, dispatched_at,
                                accepted, cancel_requested, last_seq, enqueued_at, queue_deadline_at, gpu_released, needs_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, -1, ?, ?, 0, ?)`,
      a.job_id,
      a.tenant_id,
      a.user_id,
      a.host_id,
      a.attempt,
      a.lease_id,
      a.lease_expires_at,
      a.deadline_at,
      a.dispatched_at,
      a.enqueued_at,
      a.queue_deadline_at,
      a.needs_id,
    );
  }

  assignment(jobId: string): AssignmentRow | undefined {
    return this.first<AssignmentRow>("SELECT * FROM assignments WHERE job_id = ?", jobId);
  }

  /** The assignment, only if (attempt, lease, host) are the current ones: the fencing check. */
  current(ref: { job_id: string; attempt: number; lease_id: string }, hostId: string): AssignmentRow | undefined {
    return this.first<AssignmentRow>(
      "SELECT * FROM assignments WHERE job_id = ? AND attempt = ? AND lease_id = ? AND host_id = ?",
      ref.job_id,
      ref.attempt,
      ref.lease_id,
      hostId,
    );
  }

  /** Jobs on a host that still hold one of its GPU slots (not yet past ComfyUI). */
  gpuHeld(hostId: string): number {
    return this.first<{ n: number }>("SELECT count(*) AS n FROM assignments WHERE host_id = ? AND gpu_released = 0", hostId)!.n;
  }

  releaseGpu(jobId: string, attempt: number): boolean {
    return this.sql.exec("UPDATE assignments SET gpu_released = 1 WHERE job_id = ? AND attempt = ? AND gpu_released = 0", jobId, attempt).rowsWritten > 0;
  }

  assignmentsOf(hostId: string): AssignmentRow[] {
    return this.all<AssignmentRow>("SELECT * FROM assignments WHERE host_id = ?", hostId);
  }

  unassign(jobId: string, attempt: number): boolean {
    return this.sql.exec("DELETE FROM assignments WHERE job_id = ? AND attempt = ?", jobId, attempt).rowsWritten > 0;
  }

  renew(jobId: string, attempt: number, until: number): void {
    this.sql.exec("UPDATE assignments SET lease_expires_at = max(lease_expires_at, ?) WHERE job_id = ? AND attempt = ?", until, jobId, attempt);
  }

  markAccepted(jobId: string, attempt: number): void {
    this.sql.exec("UPDATE assignments SET accepted = 1 WHERE job_id = ? AND attempt = ?", jobId, attempt);
  }

  requestCancel(jobId: string): AssignmentRow | undefined {
    this.sql.exec("UPDATE assignments SET cancel_requested = 1 WHERE job_id = ?", jobId);
    return this.assignment(jobId);
  }

  /** Advances the event sequence; false when `seq` is not newer (a duplicate or reordered event). */
  advanceSeq(jobId: string, attempt: number, seq: number): boolean {
    return this.sql.exec("UPDATE assignments SET last_seq = ? WHERE job_id = ? AND attempt = ? AND last_seq < ?", seq, jobId, attempt, seq).rowsWritten > 0;
  }

  expiredLeases(now: number, limit = 100): AssignmentRow[] {
    return this.all<AssignmentRow>("SELECT * FROM assignments WHERE lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?", now, limit);
  }

  pastDeadline(now: number, limit = 100): AssignmentRow[] {
    return this.all<AssignmentRow>("SELECT * FROM assignments WHERE deadline_at <= ? ORDER BY deadline_at LIMIT ?", now, limit);
  }

  /**
   * What schedule() needs, in one statement: the earliest time something is due (lease, deadline,
   * queue timeout; null: nothing), whether anything is queued or assigned, and whether any host is registered.
   */
  alarmInputs(): { due: number | null; busy: boolean; hosts: boolean } {
    const r = this.first<{ due: number | null; busy: number; hosts: number }>(
      `SELECT (SELECT min(at) FROM (
                 SELECT min(lease_expires_at) AS at FROM assignments
                 UNION ALL SELECT min(deadline_at) FROM assignments
                 UNION ALL SELECT min(queue_deadline_at) FROM queue)) AS due,
              (EXISTS (SELECT 1 FROM queue) OR EXISTS (SELECT 1 FROM assignments)) AS busy,
              EXISTS (SELECT 1 FROM hosts) AS hosts`,
    )!;
    return { due: r.due, busy: r.busy === 1, hosts: r.hosts === 1 };
  }

  assignedCount(): number {
    return this.first<{ n: number }>("SELECT count(*) AS n FROM assignments")!.n;
  }
}
