// A pool's Dispatcher shards (src/dispatch/shards.ts, src/dispatch/merge.ts) on plain values: the
// names shards are addressed by, which shard a tenant's jobs and a new host go to, and how the
// shards' pool-wide answers are merged.
import { describe, expect, it } from "vitest";
import { mergeCatalogs, mergeStatus } from "../../src/dispatch/merge.ts";
import { leastHosted, MAX_DISPATCHER_SHARDS, parseShardName, shardName, tenantShard } from "../../src/dispatch/shards.ts";
import type { HostStatus, PoolCatalog, PoolStatus } from "../../src/dispatch/types.ts";

const tenants = Array.from({ length: 10_000 }, (_, i) => `ten_${i.toString(36).padStart(6, "0")}`);

describe("shard names", () => {
  it("shard 0 is the plain pool name, so a pool of one shard keeps its object", () => {
    expect(shardName("l4", 0)).toBe("l4");
    expect(shardName("l4", 3)).toBe("l4#3");
    for (let k = 0; k < MAX_DISPATCHER_SHARDS; k++) expect(parseShardName(shardName("gpu-a", k))).toEqual({ pool: "gpu-a", shard: k });
  });

  it("names no shard has are refused", () => {
    for (const bad of ["", "L4", "l4#", "l4#0", "l4#01", "l4#16", "l4#1#2", "l4#x", "#1", "l4 #1"]) expect(parseShardName(bad)).toBeUndefined();
  });
});

describe("a tenant's shard", () => {
  it("is stable and within the pool's shards", () => {
    for (const t of tenants.slice(0, 500)) {
      for (const s of [1, 2, 5, 16]) {
        const k = tenantShard(t, s);
        expect(k).toBe(tenantShard(t, s));
        expect(k >= 0 && k < s).toBe(true);
      }
      expect(tenantShard(t, 1)).toBe(0);
    }
  });

  it("spreads tenants evenly over the shards", () => {
    for (const s of [2, 4, 8]) {
      const counts = new Array<number>(s).fill(0);
      for (const t of tenants) counts[tenantShard(t, s)]! += 1;
      for (const n of counts) expect(Math.abs(n / tenants.length - 1 / s)).toBeLessThan(0.03);
    }
  });

  it("moves only about 1/(S+1) of the tenants when S grows, each to the new shard", () => {
    for (const s of [1, 2, 3, 7, 15]) {
      const moved = tenants.filter((t) => tenantShard(t, s) !== tenantShard(t, s + 1));
      expect(Math.abs(moved.length / tenants.length - 1 / (s + 1))).toBeLessThan(0.03);
      for (const t of moved) expect(tenantShard(t, s + 1)).toBe(s);
    }
  });
});

describe("a new host's shard", () => {
  it("is the one with the fewest hosts, the lowest index on a tie", () => {
    expect(leastHosted(new Map(), 3)).toBe(0);
    expect(leastHosted(new Map([[0, 1]]), 3)).toBe(1);
    expect(
      leastHosted(
        new Map([
          [0, 1],
          [1, 1],
        ]),
        3,
      ),
    ).toBe(2);
    expect(
      leastHosted(
        new Map([
          [0, 2],
          [1, 1],
          [2, 1],
        ]),
        3,
      ),
    ).toBe(1);
    // A shard past the pool's count (there is none) is never chosen.
    expect(
      leastHosted(
        new Map([
          [0, 5],
          [1, 5],
        ]),
        2,
      ),
    ).toBe(0);
  });
});

const host = (id: string): HostStatus => ({
  id,
  url: `https://${id}.example`,
  slots: 1,
  capacity: 1,
  assigned: 0,
  gpu_held: 0,
  live: true,
  draining: false,
  comfy: "ready",
  lock_hash: null,
  lock_ok: true,
  version: null,
  last_heartbeat_at: 1,
  catalog_hash: null,
  catalog_known: false,
  resident_models: [],
  edge_kids: null,
});

describe("pool-wide reads", () => {
  it("sum the shards' status, hosts by id, the oldest queued job the oldest of all", () => {
    const a: PoolStatus = { hosts: [host("h-b")], live_hosts: 1, free_slots: 1, queue_depth: 2, oldest_queued_at: 200, running: 1 };
    const b: PoolStatus = { hosts: [host("h-a")], live_hosts: 1, free_slots: 0, queue_depth: 3, oldest_queued_at: 100, running: 2 };
    const empty: PoolStatus = { hosts: [], live_hosts: 0, free_slots: 0, queue_depth: 0, oldest_queued_at: null, running: 0 };
    expect(mergeStatus([a, b, empty])).toMatchObject({ live_hosts: 2, free_slots: 1, queue_depth: 5, oldest_queued_at: 100, running: 3 });
    expect(mergeStatus([a, b]).hosts.map((h) => h.id)).toEqual(["h-a", "h-b"]);
    expect(mergeStatus([empty, empty]).oldest_queued_at).toBeNull();
    expect(mergeStatus([a])).toBe(a);
  });

  it("join the shards' catalogs, names kept as data", () => {
    const a: PoolCatalog = {
      hosts: [{ id: "h1", catalog_hash: "x" }],
      hosts_without_catalog: ["h3"],
      catalogs: 1,
      // An own "__proto__" key, as a host may name a class (JSON.parse makes it one, a literal would not).
      classes: JSON.parse('{"KSampler": ["h1"], "__proto__": ["h1"]}') as Record<string, string[]>,
      models: { checkpoints: { "a.safetensors": ["h1"] } },
    };
    const b: PoolCatalog = {
      hosts: [{ id: "h2", catalog_hash: "x" }],
      hosts_without_catalog: [],
      catalogs: 1,
      classes: { KSampler: ["h2"], Upscale: ["h2"] },
      models: { checkpoints: { "a.safetensors": ["h2"], "b.safetensors": ["h2"] }, loras: { "l.safetensors": ["h2"] } },
    };
    const merged = mergeCatalogs([a, b]);
    expect(merged.hosts.map((h) => h.id)).toEqual(["h1", "h2"]);
    expect(merged.hosts_without_catalog).toEqual(["h3"]);
    expect(merged.catalogs).toBe(1);
    expect(merged.classes.KSampler).toEqual(["h1", "h2"]);
    expect(merged.classes.Upscale).toEqual(["h2"]);
    expect(Object.hasOwn(merged.classes, "__proto__") && Object.getOwnPropertyDescriptor(merged.classes, "__proto__")?.value).toEqual(["h1"]);
    expect(merged.models.checkpoints).toEqual({ "a.safetensors": ["h1", "h2"], "b.safetensors": ["h2"] });
    expect(merged.models.loras).toEqual({ "l.safetensors": ["h2"] });
  });
});
