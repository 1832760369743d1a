// A clock a test moves, installed in a Durable Object (the Dispatcher, TenantQuota): leases,
// windows and deadlines then expire without sleeping and without rewriting the object's tables.
// The object and the test share one isolate, so the object reads this very clock.
import { runInDurableObject } from "cloudflare:test";
import { onTestFinished } from "vitest";
import { type Clock, systemClock } from "../../src/lib/clock.ts";

export interface TestClock extends Clock {
  /** Moves time forward by `ms`; the clock stands still otherwise. */
  advance(ms: number): void;
}

export function manualClock(start = Date.now()): TestClock {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

/**
 * Gives the object behind `stub` a clock that stands still until the test advances it; the
 * object gets the system clock back when the test ends.
 */
export async function installClock<O extends Rpc.DurableObjectBranded & { clock: Clock }>(
  stub: DurableObjectStub<O>,
  clock: TestClock = manualClock(),
): Promise<TestClock> {
  const set = (c: Clock) =>
    runInDurableObject(stub, (instance: O) => {
      instance.clock = c;
    });
  await set(clock);
  onTestFinished(() => set(systemClock));
  return clock;
}
