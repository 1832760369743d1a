/**
 * TenantQuota: strict admission for one tenant (one object per tenant, SQLite storage).
 *
 * Invariant: `admit` reads the counts and writes the reservation in one synchronous section (no
 * `await` in between), so no burst, from any number of Worker isolates, can admit more than the
 * limits allow. The object is the tenant's single serialization point; its SQL writes commit
 * before the RPC answer leaves (output gate), so "admitted" is never reported for a lost write.
 *
 * A reservation holds a slot from admission until `release(jobId)` (terminal state). Each carries a
 * lease: `pending` (the job row may not be in D1 yet) and `active` (it is). When a lease runs out,
 * the alarm asks D1 about the job: still queued or running → renew; terminal or never written →
 * release. So a crash anywhere leaks a slot for at most one lease. Storage layout and the reasoning
 * behind the lease lengths: docs/admission.md.
 */
import { DurableObject } from "cloudflare:workers";
import type { AdmitRequest, AdmitResult, UploadReserveRequest, UploadReserveResult, UploadUsage, Usage, UsageLimits } from "../src/admission/types.ts";
import { createDb } from "../src/db/client.ts";
import { jobStatuses } from "../src/db/jobs.ts";
import type { Env } from "../src/env.ts";
import { type Clock, systemClock, wallTimeOf } from "../src/lib/clock.ts";

/** How long an admitted job may take to appear in D1 (D1 queries time out at 30 s). */
export const PENDING_LEASE_MS = 120_000;
/** How often an active reservation is re-checked against D1 while its job lives. */
export const ACTIVE_LEASE_MS = 300_000;
export const WINDOW_MS = 60_000;
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** The upload quota's window: count and bytes of the tenant's uploads in the last 24 hours. */
export const UPLOAD_WINDOW_MS = 24 * 3600 * 1000;
/** Retry hint for the active-job caps: a slot frees when some job ends, which we cannot predict. */
export const ACTIVE_RETRY_AFTER_SECONDS = 5;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reservations (
  job_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'active')),
  created_at INTEGER NOT NULL,
  lease_expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_user ON reservations (user_id);
CREATE INDEX IF NOT EXISTS reservations_lease ON reservations (lease_expires_at);
CREATE TABLE IF NOT EXISTS submissions (
  job_id TEXT PRIMARY KEY,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_at ON submissions (at);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  job_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency_keys (expires_at);
CREATE TABLE IF NOT EXISTS uploads (
  upload_id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_at ON uploads (at);
`;

export class TenantQuota extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** When the alarm is set for, as far as this instance knows (saves a storage read per admit). */
  private alarmAt: number | null | undefined;
  /** Where windows, leases and key expiry read the time; tests move it (test/support/clock.ts). */
  clock: Clock = systemClock;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(SCHEMA);
    });
  }

  /** Check and reserve, atomically. See the module comment for the invariant. */
  admit(req: AdmitRequest): AdmitResult {
    const now = this.clock.now();
    this.sql.exec("DELETE FROM submissions WHERE at <= ?", now - WINDOW_MS);

    // Keys are scoped to (tenant, user): another user's request with the same key is a new request.
    const idemKey = req.idempotency ? `${req.userId}\n${req.idempotency.key}` : undefined;
    if (req.idempotency) {
      const row = this.sql
        .exec<{ fingerprint: string; job_id: string; expires_at: number }>(
          "SELECT fingerprint, job_id, expires_at FROM idempotency_keys WHERE key = ?",
          idemKey,
        )
        .toArray()[0];
      if (row && row.expires_at > now) {
        const usage = this.usageOf(req.userId, req.limits, now);
        if (row.fingerprint !== req.idempotency.fingerprint) return { ok: false, reason: "idempotency-mismatch", usage };
        return { ok: false, reason: "idempotent-replay", jobId: row.job_id, usage };
      }
      if (row) this.sql.exec("DELETE FROM idempotency_keys WHERE key = ?", idemKey);
    }

    const usage = this.usageOf(req.userId, req.limits, now);
    const { limits } = req;
    if (usage.user_active >= limits.max_active_jobs_per_user) {
      return {
        ok: false,
        reason: "active-jobs-per-user",
        limit: limits.max_active_jobs_per_user,
        current: usage.user_active,
        retryAfter: ACTIVE_RETRY_AFTER_SECONDS,
        usage,
      };
    }
    if (usage.tenant_active >= limits.max_active_jobs_per_tenant) {
      return {
        ok: false,
        reason: "active-jobs-per-tenant",
        limit: limits.max_active_jobs_per_tenant,
        current: usage.tenant_active,
        retryAfter: ACTIVE_RETRY_AFTER_SECONDS,
        usage,
      };
    }
    if (usage.window_used >= limits.requests_per_minute) {
      return {
        ok: false,
        reason: "requests-per-minute",
        limit: limits.requests_per_minute,
        current: usage.window_used,
        retryAfter: usage.window_reset_seconds,
        usage,
      };
    }

    this.sql.exec(
      "INSERT INTO reservations (job_id, user_id, state, created_at, lease_expires_at) VALUES (?, ?, 'pending', ?, ?)",
      req.jobId,
      req.userId,
      now,
      now + PENDING_LEASE_MS,
    );
    this.sql.exec("INSERT INTO submissions (job_id, at) VALUES (?, ?)", req.jobId, now);
    if (req.idempotency) {
      this.sql.exec(
        "INSERT INTO idempotency_keys (key, fingerprint, job_id, expires_at) VALUES (?, ?, ?, ?)",
        idemKey,
        req.idempotency.fingerprint,
        req.jobId,
        now + IDEMPOTENCY_TTL_MS,
      );
    }
    this.scheduleAlarm(now + PENDING_LEASE_MS);
    return {
      ok: true,
      usage: {
        ...usage,
        user_active: usage.user_active + 1,
        tenant_active: usage.tenant_active + 1,
        window_used: usage.window_used + 1,
        window_reset_seconds: usage.window_used === 0 ? WINDOW_MS / 1000 : usage.window_reset_seconds,
      },
    };
  }

  /**
   * Frees the job's slot. Exactly once per job: the second call finds no reservation and returns
   * false. `abandoned` (the job row was never written) also forgets its submission and its
   * idempotency key, so a retry of that request is a fresh submit.
   */
  release(jobId: string, opts: { abandoned?: boolean } = {}): boolean {
    const freed = this.sql.exec("DELETE FROM reservations WHERE job_id = ?", jobId).rowsWritten > 0;
    if (opts.abandoned) {
      this.sql.exec("DELETE FROM submissions WHERE job_id = ?", jobId);
      this.sql.exec("DELETE FROM idempotency_keys WHERE job_id = ?", jobId);
    }
    return freed;
  }

  /**
   * Check and reserve an upload of `bytes` against the 24 h count and byte limits, in one
   * synchronous section like `admit`, so concurrent uploads cannot pass the limits together.
   */
  reserveUpload(req: UploadReserveRequest): UploadReserveResult {
    const now = this.clock.now();
    const usage = this.uploadUsage(req.limits, now);
    if (usage.count >= req.limits.uploads_per_day) {
      return { ok: false, reason: "uploads-per-day", limit: req.limits.uploads_per_day, current: usage.count, retryAfter: usage.reset_seconds, usage };
    }
    if (usage.bytes + req.bytes > req.limits.upload_bytes_per_day) {
      // Enough leaves the window when the oldest uploads do; the oldest one is the earliest hint.
      return {
        ok: false,
        reason: "upload-bytes-per-day",
        limit: req.limits.upload_bytes_per_day,
        current: usage.bytes,
        retryAfter: Math.max(1, usage.reset_seconds),
        usage,
      };
    }
    this.sql.exec("INSERT INTO uploads (upload_id, at, bytes) VALUES (?, ?, ?)", req.uploadId, now, req.bytes);
    return {
      ok: true,
      usage: {
        ...usage,
        count: usage.count + 1,
        bytes: usage.bytes + req.bytes,
        reset_seconds: usage.count === 0 ? UPLOAD_WINDOW_MS / 1000 : usage.reset_seconds,
      },
    };
  }

  /** Gives back an upload's reservation when it was not stored after all. */
  releaseUpload(uploadId: string): boolean {
    return this.sql.exec("DELETE FROM uploads WHERE upload_id = ?", uploadId).rowsWritten > 0;
  }

  private uploadUsage(limits: UploadReserveRequest["limits"], now: number): UploadUsage {
    this.sql.exec("DELETE FROM uploads WHERE at <= ?", now - UPLOAD_WINDOW_MS);
    const row = this.sql
      .exec<{ n: number; bytes: number | null; oldest: number | null }>("SELECT count(*) AS n, sum(bytes) AS bytes, min(at) AS oldest FROM uploads")
      .one();
    const resetMs = row.oldest === null ? 0 : row.oldest + UPLOAD_WINDOW_MS - now;
    return { count: row.n, bytes: row.bytes ?? 0, reset_seconds: row.oldest === null ? 0 : Math.max(1, Math.ceil(resetMs / 1000)), limits };
  }

  usage(userId: string, limits: UsageLimits): Usage {
    const now = this.clock.now();
    this.sql.exec("DELETE FROM submissions WHERE at <= ?", now - WINDOW_MS);
    return this.usageOf(userId, limits, now);
  }

  /** Reconciles expired leases against D1, drops expired idempotency keys, re-arms. */
  override async alarm(): Promise<void> {
    const now = this.clock.now();
    this.sql.exec("DELETE FROM idempotency_keys WHERE expires_at <= ?", now);
    const expired = this.sql
      .exec<{ job_id: string }>("SELECT job_id FROM reservations WHERE lease_expires_at <= ? ORDER BY lease_expires_at LIMIT 500", now)
      .toArray()
      .map((r) => r.job_id);
    if (expired.length > 0) {
      // Outside I/O: other requests may run meanwhile. Every write below is keyed by job id and
      // only ever frees or extends, so interleaving cannot over-admit.
      const statuses = await jobStatuses(createDb(this.env.DB), expired);
      const checkedAt = this.clock.now();
      for (const jobId of expired) {
        const status = statuses.get(jobId);
        if (status === "queued" || status === "running") {
          this.sql.exec("UPDATE reservations SET state = 'active', lease_expires_at = ? WHERE job_id = ?", checkedAt + ACTIVE_LEASE_MS, jobId);
        } else {
          // Terminal, or never written (the submit failed after admission): free the slot.
          this.release(jobId, { abandoned: status === undefined });
        }
      }
    }
    this.rearm();
  }

  private usageOf(userId: string, limits: UsageLimits, now: number): Usage {
    const userActive = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM reservations WHERE user_id = ?", userId).one().n;
    const tenantActive = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM reservations").one().n;
    const window = this.sql.exec<{ n: number; oldest: number | null }>("SELECT count(*) AS n, min(at) AS oldest FROM submissions").one();
    const resetMs = window.oldest === null ? 0 : window.oldest + WINDOW_MS - now;
    return {
      user_active: userActive,
      tenant_active: tenantActive,
      window_used: window.n,
      window_reset_seconds: Math.max(1, Math.ceil(resetMs / 1000)),
      limits,
    };
  }

  private scheduleAlarm(due: number): void {
    const at = wallTimeOf(this.clock, due); // alarms run on wall time
    // An alarm due earlier will re-arm for the rest, so only an earlier time needs a write.
    if (this.alarmAt !== undefined && this.alarmAt !== null && this.alarmAt <= at) return;
    // Fire-and-forget is safe: the output gate holds our reply until the alarm write commits.
    void this.ctx.storage.getAlarm().then((current) => {
      this.alarmAt = current;
      if (current === null || current > at) {
        this.alarmAt = at;
        return this.ctx.storage.setAlarm(at);
      }
    });
  }

  private rearm(): void {
    const next = this.sql
      .exec<{ at: number | null }>(
        "SELECT min(at) AS at FROM (SELECT min(lease_expires_at) AS at FROM reservations UNION ALL SELECT min(expires_at) FROM idempotency_keys)",
      )
      .one().at;
    this.alarmAt = next === null ? null : wallTimeOf(this.clock, next);
    if (this.alarmAt === null) void this.ctx.storage.deleteAlarm();
    else void this.ctx.storage.setAlarm(this.alarmAt);
  }
}
