// A Dispatcher knows which pool it is: the name it was addressed by, stored on first use and
// checked on every call, so its reconciliation adopts only its own pool's jobs.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createTenant, submitOk } from "../support/worker-helpers.ts";

const queuedIn = (pool: string, jobId: string) =>
  runInDurableObject(
    env.DISPATCHER.getByName(pool),
    (_i, state) => state.storage.sql.exec("SELECT 1 FROM queue WHERE job_id = ?", jobId).toArray().length === 1,
  );

describe("a Dispatcher's pool", () => {
  it("is stored on first use", async ({ expect }) => {
    await env.DISPATCHER.getByName("pool-first-use").keepTicking();
    const stored = await runInDurableObject(
      env.DISPATCHER.getByName("pool-first-use"),
      (_i, state) => state.storage.sql.exec<{ name: string }>("SELECT name FROM pool_name").one().name,
    );
    expect(stored).toBe("pool-first-use");
  });

  it("refuses to serve when its stored pool is not the one it is addressed by", async ({ expect }) => {
    const stub = env.DISPATCHER.getByName("pool-checked");
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("INSERT INTO pool_name (only, name) VALUES (1, 'another-pool')");
    });
    // Called inside the object, so the refusal is caught here rather than crossing the RPC boundary.
    const outcome = await runInDurableObject(stub, (instance) => {
      try {
        instance.status();
        return "served";
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(outcome).toMatch(/serves pool "another-pool", not "pool-checked"/);
  });

  it("reconciles only its own pool's jobs", async ({ expect }) => {
    const t = await createTenant();
    const job = await submitOk(t.key, "u");
    // The job belongs to another pool in D1, and no Dispatcher holds it (a lost enqueue), long enough ago to be stale.
    await env.DB.prepare("UPDATE jobs SET pool = 'gpu-b', updated_at = ? WHERE id = ?")
      .bind(Date.now() - 3_600_000, job.id)
      .run();
    await runInDurableObject(env.DISPATCHER.getByName("default"), (_i, state) => {
      state.storage.sql.exec("DELETE FROM queue WHERE job_id = ?", job.id);
    });
    for (const pool of ["default", "gpu-b"]) {
      // Make the next alarm reconcile. It is set well in the future so that only the test runs it
      // (runDurableObjectAlarm runs a scheduled alarm at once; one due now could fire first).
      await env.DISPATCHER.getByName(pool).keepTicking();
      await runInDurableObject(env.DISPATCHER.getByName(pool), async (instance, state) => {
        (instance as unknown as { lastReconcile: number }).lastReconcile = 0;
        await state.storage.setAlarm(Date.now() + 600_000);
      });
      expect(await runDurableObjectAlarm(env.DISPATCHER.getByName(pool))).toBe(true);
    }
    expect(await queuedIn("default", job.id)).toBe(false);
    expect(await queuedIn("gpu-b", job.id)).toBe(true);
  });
});
