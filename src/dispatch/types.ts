/**
 * The Dispatcher's RPC contract (as src/admission/types.ts is TenantQuota's): what the Worker may
 * ask a pool's Dispatcher (durable-objects/dispatcher.ts) and the answers it gets. One object per
 * shard of a GPU pool, addressed by the shard's name (`pool`, or `pool#k` for k > 0;
 * src/dispatch/shards.ts, and src/dispatch/route.ts for which shard a call goes to); it checks that
 * name on every call. Host messages reach it only after the Worker verified their signature.
 */
import type { CatalogSummary } from "../protocol/catalog.ts";
import type { DispatchRef, Heartbeat, HeartbeatReply, JobEvent } from "../protocol/messages.ts";
import type { JobNeeds, Missing } from "./placement.ts";

export interface EnqueueRequest {
  jobId: string;
  tenantId: string;
  userId: string;
  enqueuedAt: number;
  queueDeadlineAt: number;
  /** What a host must have to run it (absent: anything may run it). */
  needs?: JobNeeds;
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
  /** The catalog the host last published or named in a heartbeat (null: none yet). */
  catalog_hash: string | null;
  /** Whether this Dispatcher holds that catalog's summary (false: the host must publish it again). */
  catalog_known: boolean;
  /** Models in VRAM per the last heartbeat ("folder/name"); empty when the host does not say. */
  resident_models: string[];
  /** The edge key ids the host pins per its last heartbeat (null: it does not say). */
  edge_kids: string[] | null;
}

/**
 * A pool's catalog: the union over its live hosts of their catalogs, by name, each with the hosts
 * that have it. Live hosts without a known catalog are listed in `hosts_without_catalog`.
 */
export interface PoolCatalog {
  hosts: { id: string; catalog_hash: string }[];
  hosts_without_catalog: string[];
  /** Distinct catalogs among the live hosts. */
  catalogs: number;
  classes: Record<string, string[]>;
  models: Record<string, Record<string, string[]>>;
}

export interface PoolStatus {
  hosts: HostStatus[];
  live_hosts: number;
  free_slots: number;
  queue_depth: number;
  oldest_queued_at: number | null;
  running: number;
}

export interface QueueInfo {
  position: number;
  /** Seconds until it is likely dispatched, and until it likely ends (null: no estimate; src/dispatch/estimate.ts). */
  estimatedStartSeconds: number | null;
  estimatedFinishSeconds: number | null;
  /**
   * Set when the job cannot start for a reason other than busy hosts: no live host in the pool,
   * or none of the live hosts has every node class and model file it names (what the closest lacks).
   */
  waitingFor: WaitingFor | null;
}

export type WaitingFor = { reason: "no-live-host" } | ({ reason: "missing-on-every-host" } & Missing);

/** Where a job stands for its watchers: queued (with position) or running (with a finish estimate). */
export type JobInfo = ({ status: "queued" } & QueueInfo) | { status: "running"; estimatedFinishSeconds: number | null };

/** What a job's feed is told when somebody starts watching it (null: it is not queued here). */
export interface WatchInfo {
  position: number;
  estimatedStartSeconds: number | null;
}

export type EventOutcome = "applied" | "duplicate" | "stale" | "missing_outputs" | "replayed";

export type TransferCheck = { ok: true; tenantId: string; createdAt: number; previews: boolean } | { ok: false; replayed?: true };

/** A signed host message's replay claim, made by the call that acts on it (src/hosts/authenticate-host.ts). */
export interface ClaimRequest {
  id: string;
  ttlMs: number;
}

export type CancelOutcome = "dequeued" | "requested" | "unknown";

/** A registered host, as the admin API and heartbeats tell the Dispatcher about it. */
export interface HostRegistration {
  id: string;
  url: string;
  slots: number;
}

/**
 * Stealing (docs/scale.md): what a shard's free hosts can run, one entry per distinct catalog,
 * as a sibling shard is told when asked to lend it work.
 */
export interface LendOffer {
  /** Node classes and model file names of the catalog; null: hosts without a catalog (not checked, as in placement). */
  classes: string[] | null;
  models: string[];
  /** Free slots among the hosts with this catalog. */
  free: number;
}

/** A queued job one shard lent another: D1 already says the receiver holds it; the receiver enqueues it. */
export interface LentJob {
  jobId: string;
  tenantId: string;
  userId: string;
  enqueuedAt: number;
  queueDeadlineAt: number;
  attempts: number;
  /** Its needs as the lender stored them (canonical JSON; null: none). */
  needs: string | null;
  /** Its feed has watchers: the receiver publishes its position from now on. */
  watched: boolean;
}

export interface DispatcherRpc {
  // Hosts (admin API)
  registerHost(host: HostRegistration): void;
  setDraining(hostId: string, draining: boolean): boolean;
  /** Forgets a host; its jobs go back to the queue now. Returns how many. */
  removeHost(hostId: string): Promise<number>;
  status(): PoolStatus;
  /** An operator changed the pool's settings: read them again before the next dispatch. `shards`: its dispatcher_shards. */
  poolSettingsChanged(shards?: number): void;
  // Jobs (edge routes)
  /** Queues a job (idempotent); where it stands (null: already dispatched). */
  enqueue(job: EnqueueRequest): QueueInfo | null;
  /** The owner cancelled it (D1 already says so): dequeue, or tell its host. */
  cancel(jobId: string): CancelOutcome;
  /** Per job: null when it is not in this queue; its position, estimates, and why it waits when no live host can run it. */
  queueInfo(jobIds: string[]): (QueueInfo | null)[];
  /** Per job: queued (as queueInfo) or running here (with a finish estimate); null when neither. */
  jobInfo(jobIds: string[]): (JobInfo | null)[];
  /** A job's feed has watchers (or no more): publish its queue position to it whenever it changes. */
  watch(jobId: string, on: boolean): WatchInfo | null;
  // Host messages, after the Worker verified their signature
  /** Replay protection: false if this message id was already seen. */
  claimMessage(messageId: string, ttlMs: number): boolean;
  /** "replayed": the claim's message id was seen already (nothing was recorded). */
  heartbeat(host: HostRegistration & { draining: boolean }, hb: Heartbeat, claim?: ClaimRequest | null): HeartbeatReply | "replayed";
  /** `claim`: the message's replay claim, made first ("replayed" when it was already made). */
  jobEvent(hostId: string, ev: JobEvent, claim?: ClaimRequest | null): Promise<EventOutcome>;
  /** For input downloads and output uploads: is this still the host's current dispatch? `claim` as for jobEvent. */
  checkTransfer(hostId: string, ref: DispatchRef, claim?: ClaimRequest | null): Promise<TransferCheck>;
  /** The host published a catalog (already verified and stored by hash); keeps its summary. */
  setCatalog(host: HostRegistration & { draining: boolean }, hash: string, summary: CatalogSummary): { known: boolean };
  /** Whether a catalog with this hash is already kept (the Worker skips storing it again). */
  hasCatalog(hash: string): boolean;
  /** The union of the live hosts' catalogs. */
  poolCatalog(): PoolCatalog;
  /** Seconds until a job with these needs would likely start; null when no live host can run it or there is no history. */
  estimateStart(needs: JobNeeds): number | null;
  /** Every catalog hash the pool refers to: R2 catalogs no pool refers to are swept (src/hosts/catalog-sweep.ts). */
  catalogHashesInUse(): string[];
  /** Just the live hosts with a known catalog and its hash (cheap: read on every submit). */
  liveCatalogs(): PoolCatalog["hosts"];
  // Shards (docs/scale.md)
  /**
   * From sibling shard `to`, whose free hosts have nothing to run: up to `max` of this shard's
   * fair-next queued jobs that one of `offers` can run, moved to `to` in D1 and dequeued here.
   */
  lend(to: number, offers: LendOffer[], max: number): Promise<LentJob[]>;
  // Time
  /** From the cron: re-arms the alarm if it was lost. `shards`: the pool's dispatcher_shards. */
  keepTicking(shards?: number): void;
}
