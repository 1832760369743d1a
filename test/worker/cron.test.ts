// The cron heartbeat re-arms background alarms that only wake themselves: the webhook sweeper and
// each pool's Dispatcher.
import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import type { Env } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { heartbeat, registerHost } from "../support/worker-hosts.ts";

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
});
