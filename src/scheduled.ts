/**
 * The Worker's cron (wrangler.toml `[triggers]`): a heartbeat for the background machinery that
 * otherwise only wakes itself. It makes sure the webhook sweeper's alarm is set (it normally
 * starts with the first delivery, which a lost hand-off could prevent), that every pool's
 * Dispatcher keeps its reconciliation alarm and every autoscaled pool's PoolScaler its tick, that the
 * RetentionSweeper keeps sweeping (src/retention/sweep.ts), that host catalogs no pool refers to are deleted from
 * R2 (src/hosts/catalog-sweep.ts), that stored secrets move to the newest data encryption key
 * (src/encryption/reencrypt.ts), and that model files left verifying or importing get
 * their verdict, so nothing waits for a request to be noticed.
 */
import { loadConfig } from "./config/load.ts";
import { createDb } from "./db/client.ts";
import { stalePending } from "./db/models.ts";
import { keepTickingAll } from "./dispatch/route.ts";
import { reencryptStep } from "./encryption/reencrypt.ts";
import type { Env } from "./env.ts";
import { sweepCatalogs } from "./hosts/catalog-sweep.ts";
import { createLogger, describeError } from "./lib/log.ts";
import { allPoolShards, type PoolShards } from "./pools/pools.ts";

/** A blob verifying or importing this long without a verdict may have lost its verifier's alarm: wake it again. */
const STALE_PENDING_MS = 10 * 60_000;

export async function scheduled(_controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const log = createLogger("info", { component: "cron" });
  const loaded = loadConfig(env);
  const defaultPool = loaded.ok ? loaded.config.DEFAULT_POOL : "default";
  // Every pool: DEFAULT_POOL, the created ones and any a host is in (src/pools/pools.ts).
  let pools: PoolShards[] = [{ name: defaultPool, dispatcher_shards: 1 }];
  try {
    pools = await allPoolShards(createDb(env.DB), defaultPool);
  } catch (err) {
    log.error("cron_pools_unreadable", describeError(err));
  }
  // Model files whose verification or import was handed off but has not finished (a lost call, a
  // reset; or a long download still running, which settle() leaves alone).
  let pending: { scope: string; sha256: string }[] = [];
  try {
    pending = await stalePending(createDb(env.DB), Date.now() - STALE_PENDING_MS, 50);
  } catch (err) {
    log.error("cron_models_unreadable", describeError(err));
  }
  const results = await Promise.allSettled([
    // Host catalogs no pool refers to any more (after the pools' own alarms are set).
    sweepCatalogs(env, pools).then(({ deleted }) => (deleted > 0 ? log.info("catalogs_swept", { deleted }) : undefined)),
    env.WEBHOOK_SWEEPER.getByName("global").start(),
    env.RETENTION_SWEEPER.getByName("global").keepTicking(),
    // Every shard of every pool: an idle shard's reconciliation alarm is what adopts a lost enqueue.
    ...pools.map((pool) => keepTickingAll(env, pool)),
    ...pools.map((pool) => env.POOL_SCALER.getByName(pool.name).keepTicking()),
    ...pending.map((b) => env.MODEL_VERIFIER.getByName(`${b.scope}:${b.sha256}`).settle(b.scope, b.sha256)),
    // Stored secrets move to the newest DATA_ENCRYPTION_KEYS key a small step at a time.
    ...(loaded.ok
      ? [
          reencryptStep(env.DB, loaded.config, loaded.config.REENCRYPT_BATCH_ROWS, log).then((r) =>
            r.moved + r.failed + r.expired_host_secrets > 0 ? log.info("reencrypt_step", { ...r }) : undefined,
          ),
        ]
      : []),
  ]);
  for (const r of results) if (r.status === "rejected") log.error("cron_step_failed", describeError(r.reason));
}
