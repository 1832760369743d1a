/**
 * PoolScaler: one object per autoscaled GPU pool (`POOL_SCALER.getByName(pool)`). Every
 * AUTOSCALE_TICK_SECONDS while the pool is autoscaled (or still has instances it launched) it
 * reads the pool's queue and hosts from its Dispatcher and its instances from D1, reconciles them
 * with the provider's own list, asks the pure policy (src/capacity/policy.ts) what to do, and does
 * it: launch (a host row, a one-time bootstrap token in the instance's environment, never a
 * secret), drain, terminate.
 *
 * Invariants:
 * - A host that holds a job is never terminated by a policy decision (the policy only drains; a
 *   draining host with nothing assigned is terminated on a later tick). A host that vanished at the
 *   provider is removed, and the Dispatcher requeues its jobs.
 * - Every instance has its D1 row before the provider is asked for it, so reconciliation can tell
 *   ours (terminated or not) from an orphan with our prefix, which it terminates.
 * - Provider failures back off exponentially (policy.backoffMs): no burst of launches.
 */
import { DurableObject } from "cloudflare:workers";
import { LocalProvider } from "../src/capacity/local.ts";
import { backoffMs, decide, type ScaledHost, type ScalingAction, type ScalingSettings } from "../src/capacity/policy.ts";
import { type Provider, ProviderError, type ProviderInstance } from "../src/capacity/provider.ts";
import { RunPodProvider, runPodTemplateSchema } from "../src/capacity/runpod.ts";
import { type Autoscaling, type ProviderKind, toScaling } from "../src/capacity/settings.ts";
import { loadConfig } from "../src/config/load.ts";
import type { Config } from "../src/config/schema.ts";
import { issueBootstrapToken, newBootstrapToken } from "../src/db/bootstrap-tokens.ts";
import { createDb, type Db } from "../src/db/client.ts";
import { deleteHost, getHost, updateHost } from "../src/db/hosts.ts";
import { insertInstance, instancesOfHosts, liveInstances, updateInstance } from "../src/db/instances.ts";
import type { GpuInstanceRow } from "../src/db/schema.ts";
import { dispatcherOf, poolStatusOf } from "../src/dispatch/route.ts";
import type { PoolStatus } from "../src/dispatch/types.ts";
import type { Env } from "../src/env.ts";
import { registerHost } from "../src/hosts/register.ts";
import { createLogger, describeError, type Logger } from "../src/lib/log.ts";
import { findPool } from "../src/pools/pools.ts";

/** With autoscaling off and nothing left to wind down, the object sleeps (the next settings change wakes it). */
const WOUND_DOWN: ScalingSettings = { minHosts: 0, maxHosts: 0, bufferHosts: 0, scaledownWindowSeconds: 0, bootTimeoutSeconds: 30, slotsPerHost: 1 };
/** An instance the provider has not listed yet this long after launch is not taken for gone (its list may lag). */
const LIST_GRACE_MS = 15_000;
/** A launch whose answer never came: its row is given up after this long if the provider does not list it. */
const LAUNCH_LOST_MS = 5 * 60_000;

export interface ScalerStatus {
  pool: string;
  autoscaled: boolean;
  consecutive_failures: number;
  backoff_until: number | null;
  last_error: string | null;
  last_tick_at: number | null;
}

interface State {
  failures: number;
  backoffUntil: number | null;
  lastError: string | null;
  lastTickAt: number | null;
}

export class PoolScaler extends DurableObject<Env> {
  /** Wakes the object after a settings change (and from the cron, should its alarm be lost). */
  async settingsChanged(): Promise<void> {
    this.pool();
    await this.ctx.storage.setAlarm(Date.now());
  }

  /** From the cron: re-arms a lost alarm (a pool that is not autoscaled goes back to sleep on its tick). */
  async keepTicking(): Promise<void> {
    this.pool();
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  async status(): Promise<ScalerStatus> {
    const pool = this.pool();
    const s = await this.state();
    const row = await findPool(createDb(this.env.DB), this.config(), pool);
    return {
      pool,
      autoscaled: (row?.autoscaling ?? null) !== null,
      consecutive_failures: s.failures,
      backoff_until: s.backoffUntil,
      last_error: s.lastError,
      last_tick_at: s.lastTickAt,
    };
  }

  override async alarm(): Promise<void> {
    const config = this.config();
    let again = true;
    try {
      again = await this.tick(config);
    } catch (err) {
      this.log().error("scaler_tick_failed", { pool: this.pool(), ...describeError(err) });
    }
    if (again) await this.ctx.storage.setAlarm(Date.now() + config.AUTOSCALE_TICK_SECONDS * 1000);
  }

  // ===== One decision

  /** One round; whether to keep ticking. */
  private async tick(config: Config): Promise<boolean> {
    const pool = this.pool();
    const db = createDb(this.env.DB);
    const now = Date.now();
    const state = await this.state();
    state.lastTickAt = now;
    const found = await findPool(db, config, pool);
    const autoscaling = found?.autoscaling ?? null;
    const poolShards = found?.dispatcher_shards ?? 1;
    let rows = await liveInstances(db, pool);
    if (autoscaling === null && rows.length === 0) {
      await this.save(state);
      return false;
    }
    const kind: ProviderKind = autoscaling?.provider ?? (rows[0]?.provider as ProviderKind);
    const provider = this.provider(kind, config, autoscaling);
    const status: PoolStatus = await poolStatusOf(this.env, { name: pool, dispatcher_shards: poolShards });

    rows = await this.reconcile(db, provider, rows, config, now);
    const hostsById = new Map(status.hosts.map((h) => [h.id, h]));
    const scaled: ScaledHost[] = [];
    for (const row of rows) {
      const host = hostsById.get(row.hostId);
      const assigned = host?.assigned ?? 0;
      const ready = host?.live === true && host.comfy === "ready";
      const patch: Partial<GpuInstanceRow> = {};
      if (ready && row.readyAt === null) {
        patch.readyAt = now;
        if (row.state === "booting") patch.state = "ready";
        this.log().info("instance_ready", { pool, instance_id: row.id, host_id: row.hostId, cold_start_ms: now - row.launchedAt });
      }
      if (assigned > 0) patch.lastBusyAt = now;
      if (Object.keys(patch).length > 0) {
        await updateInstance(db, row.id, patch);
        Object.assign(row, patch);
      }
      if (row.state === "terminating") continue;
      scaled.push({
        instanceId: row.id,
        state: row.state === "draining" ? "draining" : row.readyAt !== null ? "ready" : "booting",
        launchedAt: row.launchedAt,
        readyAt: row.readyAt,
        slots: host?.slots ?? autoscaling?.slots_per_host ?? 1,
        assigned,
        lastBusyAt: row.lastBusyAt,
      });
    }
    const scaledIds = new Set(rows.map((r) => r.hostId));
    const fixedFreeSlots = status.hosts
      .filter((h) => !scaledIds.has(h.id) && h.live && !h.draining && h.lock_ok)
      .reduce((n, h) => n + Math.max(0, h.slots - h.assigned), 0);
    const settings = autoscaling ? toScaling(autoscaling) : WOUND_DOWN;
    const actions = decide({ now, settings, hosts: scaled, queued: status.queue_depth, launchBackoffUntil: state.backoffUntil, fixedFreeSlots });

    // Instances a terminate failed for before are tried again.
    for (const row of rows) if (row.state === "terminating") await this.terminate(db, provider, row, row.terminateReason ?? "retry", now);
    for (const action of actions) await this.act(action, { db, provider, rows, autoscaling, poolShards, config, state, now });
    await this.save(state);
    return true;
  }

  private async act(
    action: ScalingAction,
    ctx: {
      db: Db;
      provider: Provider;
      rows: GpuInstanceRow[];
      autoscaling: Autoscaling | null;
      poolShards: number;
      config: Config;
      state: State;
      now: number;
    },
  ): Promise<void> {
    const row = "instanceId" in action ? ctx.rows.find((r) => r.id === action.instanceId) : undefined;
    if (action.kind === "terminate" && row) return this.terminate(ctx.db, ctx.provider, row, action.reason, ctx.now);
    if (action.kind === "drain" && row) {
      const host = await updateHost(ctx.db, row.hostId, { drainingAt: ctx.now, updatedAt: ctx.now });
      await dispatcherOf(this.env, this.pool(), host?.dispatcherShard ?? 0).setDraining(row.hostId, true);
      await updateInstance(ctx.db, row.id, { state: "draining", drainingAt: ctx.now });
      this.log().info("instance_draining", { pool: this.pool(), instance_id: row.id, host_id: row.hostId, reason: action.reason });
      return;
    }
    if (action.kind === "launch" && ctx.autoscaling) {
      for (let i = 0; i < action.count; i++) {
        if (!(await this.launch(ctx.db, ctx.provider, ctx.autoscaling, ctx.poolShards, ctx.config, ctx.state, ctx.now))) break;
      }
    }
  }

  /** One instance: its row first, then the provider, then its host registration and token. Whether it worked. */
  private async launch(db: Db, provider: Provider, autoscaling: Autoscaling, poolShards: number, config: Config, state: State, now: number): Promise<boolean> {
    const pool = this.pool();
    const hostId = `as-${randomId(12)}`;
    const id = `ins_${randomId(20)}`;
    const token = newBootstrapToken();
    const row: GpuInstanceRow = {
      id,
      pool,
      provider: provider.kind,
      providerId: null,
      hostId,
      state: "launching",
      launchedAt: now,
      readyAt: null,
      drainingAt: null,
      terminatedAt: null,
      terminateReason: null,
      lastBusyAt: null,
      costPerHour: null,
    };
    await insertInstance(db, row);
    let instance: ProviderInstance;
    try {
      instance = await provider.launch({
        name: `${config.AUTOSCALE_NAME_PREFIX}${hostId}`,
        env: { EDGE_URL: autoscaling.edge_url, HOST_ID: hostId, BOOTSTRAP_TOKEN: token, SLOTS: String(autoscaling.slots_per_host) },
      });
    } catch (err) {
      await updateInstance(db, id, { state: "terminated", terminatedAt: Date.now(), terminateReason: "launch-failed" });
      this.failed(state, err, "launch");
      return false;
    }
    state.failures = 0;
    state.backoffUntil = null;
    state.lastError = null;
    const booting = { providerId: instance.providerId, state: "booting", costPerHour: instance.costPerHour };
    await updateInstance(db, id, booting);
    if (instance.url === null) {
      // Every provider here knows the URL at launch; one that does not is a bug to see, not to guess around.
      await this.terminate(db, provider, { ...row, ...booting }, "no-url", now);
      this.failed(state, new Error(`the provider gave no URL for ${instance.providerId}`), "launch");
      return false;
    }
    await registerHost(this.env, db, config, { id: hostId, pool, url: instance.url, slots: autoscaling.slots_per_host, poolShards }, now);
    await issueBootstrapToken(db, hostId, autoscaling.boot_timeout_seconds * 1000, now, token);
    this.log().info("instance_launched", { pool, instance_id: id, host_id: hostId, provider: provider.kind, provider_id: instance.providerId });
    return true;
  }

  /** Ends an instance at the provider, then forgets its host (the Dispatcher requeues whatever it still had). */
  private async terminate(db: Db, provider: Provider, row: GpuInstanceRow, reason: string, now: number): Promise<void> {
    if (row.providerId !== null) {
      try {
        await provider.terminate(row.providerId);
      } catch (err) {
        await updateInstance(db, row.id, { state: "terminating", terminateReason: reason });
        this.log().warn("instance_terminate_failed", { pool: this.pool(), instance_id: row.id, ...describeError(err) });
        return;
      }
    }
    await this.forget(db, row, reason, now);
  }

  private async forget(db: Db, row: GpuInstanceRow, reason: string, now: number): Promise<void> {
    // The host's own shard (a row already gone means an earlier forget removed it there already).
    const host = await getHost(db, row.hostId);
    const requeued = await dispatcherOf(this.env, this.pool(), host?.dispatcherShard ?? 0).removeHost(row.hostId);
    await deleteHost(db, row.hostId);
    await updateInstance(db, row.id, { state: "terminated", terminatedAt: now, terminateReason: reason });
    this.log().info("instance_terminated", { pool: this.pool(), instance_id: row.id, host_id: row.hostId, reason, requeued, billed_ms: now - row.launchedAt });
  }

  /**
   * The provider's list against ours: an instance of ours it no longer has (or has stopped) is gone
   * (its host removed, its jobs requeued); one with our prefix that no row knows is an orphan of a
   * lost launch or another deployment's mistake, and is terminated. The rows still live after it.
   */
  private async reconcile(db: Db, provider: Provider, rows: GpuInstanceRow[], config: Config, now: number): Promise<GpuInstanceRow[]> {
    let listed: ProviderInstance[];
    try {
      listed = await provider.list(config.AUTOSCALE_NAME_PREFIX);
    } catch (err) {
      this.log().warn("instance_list_failed", { pool: this.pool(), ...describeError(err) });
      return rows;
    }
    const byProviderId = new Map(listed.map((i) => [i.providerId, i]));
    const byName = new Map(listed.map((i) => [i.name, i]));
    const live: GpuInstanceRow[] = [];
    for (const row of rows) {
      let found = row.providerId !== null ? byProviderId.get(row.providerId) : byName.get(`${config.AUTOSCALE_NAME_PREFIX}${row.hostId}`);
      if (row.providerId === null && found) {
        // Launched, but its answer was lost: adopt it.
        await updateInstance(db, row.id, { providerId: found.providerId, state: "booting" });
        row.providerId = found.providerId;
        row.state = "booting";
      }
      if (row.state === "launching" && !found) {
        if (now - row.launchedAt > LAUNCH_LOST_MS) await this.forget(db, row, "launch-lost", now);
        else live.push(row);
        continue;
      }
      if (found?.state === "stopped") {
        await this.terminate(db, provider, row, "stopped", now);
        found = undefined;
        continue;
      }
      if (!found && now - row.launchedAt > LIST_GRACE_MS) {
        this.log().warn("instance_vanished", { pool: this.pool(), instance_id: row.id, host_id: row.hostId });
        await this.forget(db, row, "vanished", now);
        continue;
      }
      live.push(row);
    }
    // Orphans: our prefix, no row anywhere (any pool, terminated or not).
    const hostIdOf = (name: string) => name.slice(config.AUTOSCALE_NAME_PREFIX.length);
    const known = new Set(
      (
        await instancesOfHosts(
          db,
          listed.map((i) => hostIdOf(i.name)),
        )
      ).map((r) => r.hostId),
    );
    for (const i of listed) {
      if (known.has(hostIdOf(i.name))) continue;
      try {
        await provider.terminate(i.providerId);
        this.log().warn("orphan_terminated", { pool: this.pool(), provider_id: i.providerId, name: i.name });
      } catch (err) {
        this.log().warn("orphan_terminate_failed", { pool: this.pool(), provider_id: i.providerId, ...describeError(err) });
      }
    }
    return live;
  }

  private failed(state: State, err: unknown, what: string): void {
    state.failures++;
    state.backoffUntil = Date.now() + backoffMs(state.failures);
    state.lastError = `${what}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
    this.log().warn("provider_failed", {
      pool: this.pool(),
      what,
      retryable: err instanceof ProviderError ? err.retryable : null,
      failures: state.failures,
      backoff_ms: backoffMs(state.failures),
      ...describeError(err),
    });
  }

  private provider(kind: ProviderKind, config: Config, autoscaling: Autoscaling | null): Provider {
    if (kind === "local") {
      if (!config.LOCAL_PROVIDER_URL || !config.LOCAL_PROVIDER_TOKEN) throw new Error("provider local needs LOCAL_PROVIDER_URL and LOCAL_PROVIDER_TOKEN");
      return new LocalProvider({ url: config.LOCAL_PROVIDER_URL, token: config.LOCAL_PROVIDER_TOKEN });
    }
    if (!config.RUNPOD_API_KEY) throw new Error("provider runpod needs RUNPOD_API_KEY");
    // Winding down after autoscaling was turned off: terminate and list need no template.
    const template = runPodTemplateSchema.parse(autoscaling?.runpod ?? { image: "unused", gpu_type_ids: ["unused"] });
    return new RunPodProvider({ apiKey: config.RUNPOD_API_KEY, template });
  }

  // ===== Plumbing

  private poolCache: string | undefined;

  /** The pool this object serves: the name it was addressed by, stored for its alarms. */
  private pool(): string {
    if (this.poolCache) return this.poolCache;
    const addressed = this.ctx.id.name;
    const stored = this.ctx.storage.kv.get<string>("pool");
    if (addressed !== undefined && stored !== undefined && addressed !== stored) throw new Error(`this PoolScaler serves pool "${stored}", not "${addressed}"`);
    const name = stored ?? addressed;
    if (name === undefined) throw new Error("this PoolScaler was never addressed by a pool name");
    if (stored === undefined) this.ctx.storage.kv.put("pool", name);
    this.poolCache = name;
    return name;
  }

  private async state(): Promise<State> {
    return this.ctx.storage.kv.get<State>("state") ?? { failures: 0, backoffUntil: null, lastError: null, lastTickAt: null };
  }

  private async save(state: State): Promise<void> {
    this.ctx.storage.kv.put("state", state);
  }

  private config(): Config {
    const result = loadConfig(this.env);
    if (!result.ok) throw new Error(`misconfigured: ${result.problems.join("; ")}`);
    return result.config;
  }

  private log(): Logger {
    return createLogger(this.config().LOG_LEVEL, { component: "pool-scaler" });
  }
}

function randomId(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % 32]).join("");
}
