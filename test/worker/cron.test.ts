// The cron heartbeat re-arms background alarms that only wake themselves: the webhook sweeper,
// each pool's Dispatcher, and the ModelVerifier of a model file left importing (or verifying).
import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, inject, it } from "vitest";
import { catalogKey, SHARED_MODELS } from "../../src/blobs/keys.ts";
import { createDb } from "../../src/db/client.ts";
import { insertBlob } from "../../src/db/models.ts";
import type { Env } from "../../src/env.ts";
import { CATALOG_SWEEP_GRACE_MS, sweepCatalogs } from "../../src/hosts/catalog-sweep.ts";
import worker from "../../src/index.ts";
import { catalogHash } from "../../src/protocol/catalog.ts";
import { modelSourceBytes } from "../support/model-source-bytes.ts";
import { heartbeat, publishCatalog, registerHost, useTestHosts } from "../support/worker-hosts.ts";
import { settledBlob, sha256Hex } from "../support/worker-models.ts";

const { track } = useTestHosts();
const alarmOf = (stub: DurableObjectStub) => runInDurableObject(stub, async (_i, state) => state.storage.getAlarm());

describe("cron", () => {
  it("sets the webhook sweeper's alarm and re-arms a pool Dispatcher that lost its alarm", async ({ expect }) => {
    const workerEnv = env as unknown as Env;
    const host = await registerHost();
    await heartbeat(host);
    const dispatcher = workerEnv.DISPATCHER.getByName("default");
    await runInDurableObject(dispatcher, async (_i, state) => {
      await state.storage.deleteAlarm();
    });
    expect(await alarmOf(dispatcher)).toBeNull();

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "* * * * *" }), workerEnv, ctx);
    await waitOnExecutionContext(ctx);

    expect(await alarmOf(workerEnv.WEBHOOK_SWEEPER.getByName("global"))).toEqual(expect.any(Number));
    expect(await alarmOf(dispatcher)).toEqual(expect.any(Number));
  });

  it("wakes the verifier of a model file importing for over 10 minutes, which then imports it", async ({ expect }) => {
    const workerEnv = env as unknown as Env;
    const seed = crypto.randomUUID();
    const bytes = modelSourceBytes(seed, 4_096);
    const sha256 = await sha256Hex(bytes);
    const db = createDb(env.DB);
    // A blob whose hand-off to its verifier was lost: importing, untouched for 11 minutes, no alarm.
    const long = Date.now() - 11 * 60_000;
    const url = `http://127.0.0.1:${inject("ssrfPort")}/model-file/${seed}/4096/lost.safetensors`;
    await insertBlob(db, {
      scope: SHARED_MODELS,
      sha256,
      size: bytes.length,
      state: "importing",
      source: { kind: "url", url },
      uploadId: null,
      partSize: null,
      parts: null,
      error: null,
      createdAt: long,
      updatedAt: long,
    });
    const verifier = workerEnv.MODEL_VERIFIER.getByName(`${SHARED_MODELS}:${sha256}`);
    expect(await alarmOf(verifier)).toBeNull();

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "* * * * *" }), workerEnv, ctx);
    await waitOnExecutionContext(ctx);

    // Nothing but the cron knows of this blob: its import happening proves the wake-up.
    expect((await settledBlob(sha256)).state).toBe("ready");
  });

  it("deletes host catalogs no pool refers to, once past the grace; never one a host still names", async ({ expect }) => {
    const workerEnv = env as unknown as Env;
    const host = track(await registerHost());
    await heartbeat(host);
    const content = { object_info: { [`Tag_${crypto.randomUUID().slice(0, 8)}`]: { input: {}, output: [], output_node: true } }, models: {} };
    expect((await publishCatalog(host, content)).status).toBe(200);
    const used = await catalogHash(content);
    const orphan = await sha256Hex(new TextEncoder().encode(crypto.randomUUID()));
    await workerEnv.BLOBS.put(catalogKey(orphan), "{}");

    // Within the grace nothing goes; past it, only the orphan.
    expect((await sweepCatalogs(workerEnv, [{ name: "default", dispatcher_shards: 1 }])).deleted).toBe(0);
    const later = Date.now() + CATALOG_SWEEP_GRACE_MS + 60_000;
    await sweepCatalogs(workerEnv, [{ name: "default", dispatcher_shards: 1 }], later);
    expect(await workerEnv.BLOBS.head(catalogKey(orphan))).toBeNull();
    expect(await workerEnv.BLOBS.head(catalogKey(used))).not.toBeNull();
  });
});
