/**
 * The heartbeat: every HEARTBEAT_INTERVAL_MS (and at once on start and when draining begins),
 * tell the edge who we are, what we hold and how much room is left; apply its reply (renewed
 * leases, jobs to cancel, jobs to drop). Leases that ran out locally are given up on each tick.
 * A failed heartbeat is logged and simply tried again on the next tick — the next one carries the
 * same, newer information.
 */
import type { ModelRef } from "../../src/protocol/messages.ts";
import { Heartbeat, HeartbeatReply } from "../../src/protocol/messages.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { CATALOG_CHECK_EVERY, type CatalogPublisher } from "./catalog.ts";
import type { ComfyLink } from "./comfy/link.ts";
import type { EdgeClient } from "./edge/client.ts";
import type { PinnedEdgeKeys } from "./edge/pinned-keys.ts";
import type { JobManager } from "./jobs/manager.ts";
import type { Logger } from "./log.ts";

export class HeartbeatLoop {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly opts: {
    hostId: string;
    version: string;
    lockHash: string;
    intervalMs: number;
    edge: EdgeClient;
    manager: JobManager;
    link: Pick<ComfyLink, "state">;
    /** Heartbeats carry its published hash; every CATALOG_CHECK_EVERY beats it is re-checked. */
    catalog?: Pick<CatalogPublisher, "publishedHash" | "check">;
    /** The pool's pinned model files, from each reply (absent: none pinned). */
    pinned?: (refs: ModelRef[]) => void;
    /** The edge keys this host pins: heartbeats name them, replies may update them. */
    edgeKeys?: Pick<PinnedEdgeKeys, "kids" | "apply">;
    log: Logger;
  };
  private beats = 0;
  lastOkAt: number | undefined;

  constructor(opts: HeartbeatLoop["opts"]) {
    this.opts = opts;
  }

  start(): void {
    void this.beat();
    this.timer ??= setInterval(() => void this.beat(), this.opts.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One heartbeat now (joins one already in flight, then sends a fresh one). */
  async beat(): Promise<void> {
    if (this.inFlight) await this.inFlight;
    this.inFlight = this.send().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  build(): Heartbeat {
    const { manager, link } = this.opts;
    const slots = manager.view();
    return Heartbeat.parse({
      type: "host.heartbeat",
      host_id: this.opts.hostId,
      sent_at: Date.now(),
      version: this.opts.version,
      lock_hash: this.opts.lockHash,
      capacity: slots.capacity,
      free_slots: slots.free,
      draining: manager.draining,
      comfy: link.state,
      jobs: manager.heartbeatJobs(),
      // resident_models stays unsent: ComfyUI 0.3.64 does not say over HTTP which models are loaded.
      ...(this.opts.catalog?.publishedHash !== undefined ? { catalog_hash: this.opts.catalog.publishedHash } : {}),
      ...(this.opts.edgeKeys ? { edge_kids: this.opts.edgeKeys.kids() } : {}),
    });
  }

  private async send(): Promise<void> {
    const { manager, edge, log } = this.opts;
    manager.expireLeases();
    // One try: a failed heartbeat is superseded by the next tick's.
    const result = await edge.postJson("heartbeat", edgePaths.heartbeat(this.opts.hostId), this.build(), (json) => HeartbeatReply.safeParse(json).data, {
      attempts: 1,
    });
    if (!result.ok) {
      log.warn("heartbeat_failed", {
        reason: result.reason,
        ...(result.reason === "rejected" ? { status: result.status } : {}),
        ...(result.reason === "unavailable" ? { detail: result.detail } : {}),
      });
      return;
    }
    this.lastOkAt = Date.now();
    manager.applyHeartbeatReply(result.value);
    this.opts.pinned?.(result.value.pinned_models ?? []);
    // New edge keys, signed by one pinned now (a refused update is logged and changes nothing).
    if (result.value.edge_jwks !== undefined) await this.opts.edgeKeys?.apply(result.value.edge_jwks);
    const catalog = this.opts.catalog;
    if (catalog) {
      this.beats++;
      // The edge lacks the catalog we named (it lost it, or it was replaced): send it again.
      if (result.value.catalog_wanted) void catalog.check(true);
      else if (this.beats % CATALOG_CHECK_EVERY === 0) void catalog.check();
    }
  }
}
