// Concurrent ensures of one blob share one download; the stream is released by hand, so the test
// knows both calls were waiting on it before any byte arrived.
import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, it } from "vitest";
import { deferred } from "../../src/lib/async.ts";
import { createMetrics } from "../../src/metrics.ts";
import type { EnsureResult } from "../../src/models/cache.ts";
import { BlobSource, blob, type Dirs, linkOf, newCache, streamOf, tempDirs } from "./support.ts";

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe("model cache: concurrent ensures", () => {
  it("fetches once for two callers: fetched + joined, both after the one download", async ({ expect }) => {
    const model = blob("one checkpoint, wanted by two jobs at once");
    // The second job names the same content under another name: it gets its own link to the one blob.
    const alias = { ...model.ref, name: "alias/same.safetensors" };
    const source = new BlobSource().add(model);
    const gate = deferred<void>();
    source.gate = gate.promise;
    const metrics = createMetrics();
    const cache = await newCache(dirs, source, { metrics });

    const events: string[] = [];
    const settled = (job: string) => (r: EnsureResult) => {
      events.push(job);
      return r;
    };
    const first = cache.ensure(model.ref, "job-1").then(settled("job-1"));
    const second = cache.ensure(alias, "job-2").then(settled("job-2"));
    await source.started.promise;
    events.push("released");
    gate.resolve();
    const [a, b] = await Promise.all([first, second]);

    expect(source.calls).toHaveLength(1);
    expect(a).toMatchObject({ outcome: "fetched", bytes: model.ref.size });
    expect(b).toMatchObject({ outcome: "joined", bytes: model.ref.size });
    expect(events[0]).toBe("released");
    expect(new Uint8Array(await readFile(linkOf(dirs, model.ref)))).toEqual(model.bytes);
    expect(new Uint8Array(await readFile(linkOf(dirs, alias)))).toEqual(model.bytes);
    expect(cache.entries()).toEqual([
      {
        sha256: model.ref.sha256,
        size: model.ref.size,
        last_used: expect.any(Number),
        pinned: false,
        in_use: true,
        links: ["checkpoints/alias/same.safetensors", `checkpoints/${model.ref.name}`],
      },
    ]);
    expect(cache.stats()).toEqual({ fetched_bytes: model.ref.size, hits: 0, joins: 1, evictions: 0, failed_fetches: 0 });

    // Later ensures are hits; the counters reach /metrics.
    expect(await cache.ensure(model.ref, "job-3")).toEqual({ outcome: "hit", fetch_ms: 0, bytes: 0 });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`gpu_backend_model_cache_fetched_bytes_total ${model.ref.size}`);
    expect(text).toContain("gpu_backend_model_cache_joins_total 1");
    expect(text).toContain("gpu_backend_model_cache_hits_total 1");
  });

  it("fails every joined caller when the one download fails, and holds nothing for them", async ({ expect }) => {
    const model = blob("a checkpoint whose only download is corrupt");
    const source = new BlobSource().add(model);
    const gate = deferred<void>();
    source.gate = gate.promise;
    source.override = (_ref, bytes) => streamOf(bytes.map((b) => b ^ 0xff));
    const cache = await newCache(dirs, source);

    const first = cache.ensure(model.ref, "job-1").catch((e: unknown) => e);
    const second = cache.ensure(model.ref, "job-2").catch((e: unknown) => e);
    await source.started.promise;
    gate.resolve();
    expect(await first).toMatchObject({ kind: "corrupt" });
    expect(await second).toMatchObject({ kind: "corrupt" });
    expect(source.calls).toHaveLength(1);
    expect(cache.stats().failed_fetches).toBe(1);
    expect(cache.entries()).toEqual([]);
  });
});
