// The disk budget: least recently ensured blobs make room, never a pinned one or one a job holds,
// and a model that cannot fit is refused before any byte is fetched. The clock is the test's, so
// "least recently" is exact.
import { afterEach, beforeEach, describe, it } from "vitest";
import { BlobSource, cacheFiles, type Dirs, exists, linkOf, newCache, sized, tempDirs } from "./support.ts";

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

const [a, b, c, d, e, f] = ["aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff"].map((seed) => sized(seed, 100));

function setup() {
  let now = 1_000;
  const source = new BlobSource().add(a!, b!, c!, d!, e!, f!);
  const clock = () => (now += 10);
  return { source, clock };
}

const cached = (cache: { entries(): { sha256: string }[] }) => new Set(cache.entries().map((x) => x.sha256));

describe("model cache: eviction", () => {
  it("evicts the least recently ensured blob, its link first", async ({ expect }) => {
    const { source, clock } = setup();
    const cache = await newCache(dirs, source, { budgetBytes: 300, clock });
    for (const m of [a!, b!, c!]) await cache.ensure(m.ref, "job-1");
    cache.release("job-1");
    await cache.ensure(a!.ref, "job-2"); // a is now the most recent: b is the least recent
    cache.release("job-2");

    expect(await cache.ensure(d!.ref, "job-3")).toMatchObject({ outcome: "fetched" });
    expect(cached(cache)).toEqual(new Set([a!.ref.sha256, c!.ref.sha256, d!.ref.sha256]));
    expect(await exists(linkOf(dirs, b!.ref))).toBe(false);
    expect(await cacheFiles(dirs)).not.toContain(`sha256/${b!.ref.sha256}`);
    expect(cache.stats().evictions).toBe(1);
    // Fetched again on demand, evicting the next least recent (c).
    cache.release("job-3");
    expect((await cache.ensure(b!.ref, "job-4")).outcome).toBe("fetched");
    expect(cached(cache)).toEqual(new Set([a!.ref.sha256, b!.ref.sha256, d!.ref.sha256]));
  });

  it("never evicts a pinned or an in-use blob; after release it is evictable; an impossible fit fetches nothing", async ({ expect }) => {
    const { source, clock } = setup();
    const cache = await newCache(dirs, source, { budgetBytes: 300, clock });
    await cache.ensure(a!.ref, "job-a"); // oldest, held by job-a
    await cache.ensure(b!.ref, "job-b");
    cache.release("job-b");
    await cache.ensure(c!.ref, "job-c");
    cache.release("job-c");
    cache.pin([b!.ref.sha256]); // b is older than c, but pinned

    await cache.ensure(d!.ref, "job-d"); // a held, b pinned: c goes
    expect(cached(cache)).toEqual(new Set([a!.ref.sha256, b!.ref.sha256, d!.ref.sha256]));
    expect(cache.entries().find((x) => x.sha256 === b!.ref.sha256)).toMatchObject({ pinned: true, in_use: false });
    expect(cache.entries().find((x) => x.sha256 === a!.ref.sha256)).toMatchObject({ pinned: false, in_use: true });

    // a held, b pinned, d held: nothing can go.
    const calls = source.calls.length;
    await expect(cache.ensure(e!.ref, "job-e")).rejects.toMatchObject({ name: "ModelFetchError", kind: "disk_budget" });
    expect(source.calls).toHaveLength(calls);
    expect(await cacheFiles(dirs)).toHaveLength(3);
    expect(await exists(linkOf(dirs, e!.ref))).toBe(false);

    cache.release("job-a");
    expect((await cache.ensure(e!.ref, "job-e")).outcome).toBe("fetched");
    expect(cached(cache)).toEqual(new Set([b!.ref.sha256, d!.ref.sha256, e!.ref.sha256]));

    // Unpinned, b is the least recent left once d and e are released.
    cache.pin([]);
    cache.release("job-d");
    cache.release("job-e");
    await cache.ensure(f!.ref, "job-f");
    expect(cached(cache)).toEqual(new Set([d!.ref.sha256, e!.ref.sha256, f!.ref.sha256]));
    expect(cache.stats()).toMatchObject({ evictions: 3, failed_fetches: 1 });
  });

  it("refuses a blob larger than the whole budget without evicting or fetching", async ({ expect }) => {
    const { source, clock } = setup();
    const cache = await newCache(dirs, source, { budgetBytes: 150, clock });
    await cache.ensure(a!.ref, "job-1");
    cache.release("job-1");
    const huge = sized("huge", 151);
    source.add(huge);
    await expect(cache.ensure(huge.ref, "job-2")).rejects.toMatchObject({ kind: "disk_budget" });
    expect(source.calls).toHaveLength(1);
    expect(cached(cache)).toEqual(new Set([a!.ref.sha256]));
  });

  it("counts a download under way against the budget", async ({ expect }) => {
    const { source, clock } = setup();
    const cache = await newCache(dirs, source, { budgetBytes: 150, clock });
    let release: () => void = () => {};
    source.gate = new Promise<void>((resolve) => (release = resolve));
    const first = cache.ensure(a!.ref, "job-1");
    await source.started.promise;
    // a's 100 bytes are set aside though not on disk yet: b cannot fit beside them.
    await expect(cache.ensure(b!.ref, "job-2")).rejects.toMatchObject({ kind: "disk_budget" });
    release();
    expect((await first).outcome).toBe("fetched");
  });
});
