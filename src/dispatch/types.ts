/**
 * The Dispatcher's RPC contract (as src/admission/types.ts is TenantQuota's): what the Worker may
 * ask a pool's Dispatcher (durable-objects/dispatcher.ts) and the answers it gets. One object per
 * GPU pool, addressed by the pool's name (`env.DISPATCHER.getByName(pool)`); it checks that name on
 * every call. Host messages reach it only after the Worker verified their signature.
 */
import type { DispatchRef, Heartbeat, HeartbeatReply, JobEvent } from "../protocol/messages.ts";

export interface EnqueueRequest {
  jobId: string;
  tenantId: string;
  userId: string;
  enqueuedAt: number;
  queueDeadlineAt: number;
}

export interface HostStatus {
  id: string;
  url: string;
  slots: number;
  capacity: number;
  /** Jobs dispatched to it and not yet ended. */
  assigned: number;
  /** Of those, the ones still holding a GPU slot (not yet past ComfyUI). */
  gpu_held: number;
  live: boolean;
  draining: boolean;
  comfy: string;
  lock_hash: string | null;
  lock_ok: boolean;
  version: string | null;
  last_heartbeat_at: number | null;
}

export interface PoolStatus {
  hosts: HostStatus[];
  live_hosts: number;
  free_slots: number;
  queue_depth: number;
  oldest_queued_at: number | null;
  running: number;
}

export type EventOutcome = "applied" | "duplicate" | "stale" | "missing_outputs";

export type TransferCheck = { ok: true; tenantId: string } | { ok: false };

export type CancelOutcome = "dequeued" | "requested" | "unknown";

/** A registered host, as the admin API and heartbeats tell the Dispatcher about it. */
export interface HostRegistration {
  id: string;
  url: string;
  slots: number;
}

export interface DispatcherRpc {
  // Hosts (admin API)
  registerHost(host: HostRegistration): void;
  setDraining(hostId: string, draining: boolean): boolean;
  /** Forgets a host; its jobs go back to the queue now. Returns how many. */
  removeHost(hostId: string): Promise<number>;
  status(): PoolStatus;
  // Jobs (edge routes)
  /** Queues a job (idempotent); its position. */
  enqueue(job: EnqueueRequest): number | null;
  /** The owner cancelled it (D1 already says so): dequeue, or tell its host. */
  cancel(jobId: string): CancelOutcome;
  positions(jobIds: string[]): (number | null)[];
  // Host messages, after the Worker verified their signature
  /** Replay protection: false if this message id was already seen. */
  claimMessage(messageId: string, ttlMs: number): boolean;
  heartbeat(host: HostRegistration & { draining: boolean }, hb: Heartbeat): HeartbeatReply;
  jobEvent(hostId: string, ev: JobEvent): Promise<EventOutcome>;
  /** For input downloads and output uploads: is this still the host's current dispatch? */
  checkTransfer(hostId: string, ref: DispatchRef): TransferCheck;
  // Time
  /** From the cron: re-arms the alarm if it was lost. */
  keepTicking(): void;
}
