// A download that goes wrong never becomes visible: no blob under its final name, no link for
// ComfyUI, no temporary file left, a typed error, and the next ensure fetches again.
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, it } from "vitest";
import { ModelFetchError, type ModelRef } from "../../src/models/cache.ts";
import { BlobSource, blob, cacheFiles, type Dirs, exists, linkOf, newCache, streamOf, tempDirs } from "./support.ts";

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

const model = blob("a model file long enough to arrive in several chunks of seven bytes");

async function expectNothingVisible(expect: any, ref: ModelRef) {
  expect(await cacheFiles(dirs)).toEqual([]);
  expect(await exists(linkOf(dirs, ref))).toBe(false);
}

describe("model cache: failed downloads", () => {
  it("refuses one corrupted byte, leaves nothing behind, and fetches again next time", async ({ expect }) => {
    const source = new BlobSource().add(model);
    source.override = (_ref, bytes) => {
      const bad = bytes.slice();
      bad[20] = bad[20]! ^ 0x01;
      return streamOf(bad);
    };
    const cache = await newCache(dirs, source);
    const err = await cache.ensure(model.ref, "job-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFetchError);
    expect((err as ModelFetchError).kind).toBe("corrupt");
    await expectNothingVisible(expect, model.ref);
    expect(cache.entries()).toEqual([]);
    expect(cache.stats()).toMatchObject({ failed_fetches: 1, fetched_bytes: 0 });

    source.override = undefined;
    expect(await cache.ensure(model.ref, "job-1")).toMatchObject({ outcome: "fetched", bytes: model.ref.size });
    expect(source.calls).toHaveLength(2);
    expect(new Uint8Array(await readFile(linkOf(dirs, model.ref)))).toEqual(model.bytes);
    expect(await cacheFiles(dirs)).toEqual([`sha256/${model.ref.sha256}`]);
  });

  it("discards a stream cut halfway by an error", async ({ expect }) => {
    const source = new BlobSource().add(model);
    source.override = (_ref, bytes) => {
      let sent = false;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) return controller.error(new Error("connection reset"));
          controller.enqueue(bytes.slice(0, bytes.byteLength / 2));
          sent = true;
        },
      });
    };
    const cache = await newCache(dirs, source);
    await expect(cache.ensure(model.ref, "job-1")).rejects.toMatchObject({ name: "ModelFetchError", kind: "network" });
    await expectNothingVisible(expect, model.ref);

    source.override = undefined;
    expect((await cache.ensure(model.ref, "job-1")).outcome).toBe("fetched");
    expect(new Uint8Array(await readFile(linkOf(dirs, model.ref)))).toEqual(model.bytes);
  });

  it("stops reading as soon as more bytes than announced arrive (size), and aborts the source", async ({ expect }) => {
    const source = new BlobSource().add(model);
    // Endless: only the size check can end this download.
    source.override = () => new ReadableStream<Uint8Array>({ pull: (controller) => controller.enqueue(new Uint8Array(16)) });
    const cache = await newCache(dirs, source);
    await expect(cache.ensure(model.ref, "job-1")).rejects.toMatchObject({ kind: "size" });
    expect(source.signals[0]!.aborted).toBe(true);
    await expectNothingVisible(expect, model.ref);
  });

  it("refuses a stream that ends early (size) and a source that fails to open (network)", async ({ expect }) => {
    const source = new BlobSource().add(model);
    source.override = (_ref, bytes) => streamOf(bytes.slice(0, 10));
    const cache = await newCache(dirs, source);
    await expect(cache.ensure(model.ref, "job-1")).rejects.toMatchObject({ kind: "size" });
    await expectNothingVisible(expect, model.ref);

    const missing = blob("never served");
    await expect(cache.ensure(missing.ref, "job-1")).rejects.toMatchObject({ kind: "network" });
    await expectNothingVisible(expect, missing.ref);
    expect(cache.stats().failed_fetches).toBe(2);
    // A failed ensure holds nothing.
    expect(cache.entries()).toEqual([]);
  });

  describe("over a loopback HTTP server", () => {
    let server: Server;
    let base: string;
    beforeEach(async () => {
      server = createServer((req, res) => {
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(model.ref.size) });
        if (req.url === "/cut") {
          // Half the body, then the connection drops.
          res.write(model.bytes.slice(0, 20), () => res.destroy());
        } else res.end(model.bytes);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it("discards a response cut off mid-body, then caches the whole one", async ({ expect }) => {
      let path = "/cut";
      const cache = await newCache(dirs, new BlobSource(), {
        fetchBlob: async (_ref, signal) => {
          const res = await fetch(`${base}${path}`, { signal });
          return res.body!;
        },
      });
      await expect(cache.ensure(model.ref, "job-1")).rejects.toMatchObject({ kind: "network" });
      await expectNothingVisible(expect, model.ref);

      path = "/whole";
      expect((await cache.ensure(model.ref, "job-1")).outcome).toBe("fetched");
      expect(new Uint8Array(await readFile(linkOf(dirs, model.ref)))).toEqual(model.bytes);
    });
  });
});
