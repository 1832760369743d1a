// Replay protection for host messages (durable-objects/dispatcher/replay-store.ts), in a real
// Dispatcher's storage: a message id is claimed once until it expires, an expired id can be
// claimed again at once, and expired ids are swept (at most once a second) instead of on every claim.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { ReplayStore } from "../../durable-objects/dispatcher/replay-store.ts";

const storeIn = <T>(fn: (store: ReplayStore) => T) =>
  runInDurableObject(env.DISPATCHER.getByName(`replay-${crypto.randomUUID().slice(0, 8)}`), (_i, state) => fn(new ReplayStore(state.storage.sql)));

describe("the replay store", () => {
  it("claims an id once until it expires, then again", async ({ expect }) => {
    const got = await storeIn((store) => [
      store.claim("h:a", 1_100, 1_000),
      store.claim("h:a", 1_100, 1_050),
      store.claim("h:b", 1_100, 1_050),
      // Expired: taken over by the claim itself, whether or not a sweep ran.
      store.claim("h:a", 1_300, 1_100),
      store.claim("h:a", 1_400, 1_200),
    ]);
    expect(got).toEqual([true, false, true, true, false]);
  });

  it("sweeps expired ids at most once a second, not on every claim", async ({ expect }) => {
    const sizes = await storeIn((store) => {
      for (let i = 0; i < 50; i++) store.claim(`h:${i}`, 10_010, 10_000);
      const afterFill = store.size();
      store.claim("h:late", 20_000, 10_500); // within a second of the first sweep: none
      const beforeSweep = store.size();
      store.claim("h:later", 20_000, 11_100); // a second on: the 50 expired ids go
      return [afterFill, beforeSweep, store.size()];
    });
    expect(sizes).toEqual([50, 51, 2]);
  });
});
