// Model files registered with `source: {url}` (issue 14.1): the edge downloads them itself, through
// the SSRF guard and MODEL_SOURCE_HOSTS, into R2, counting and hashing as they stream; the model
// is `importing` until then, `ready` with exactly the right bytes in R2, or `failed` with the reason
// and nothing stored. The source is the loopback server (test/support/node/ssrf-server.ts): the
// test config lists 127.0.0.1 in MODEL_SOURCE_HOSTS and OUTBOUND_ALLOW_HOSTS lets it be plain http.
import { env } from "cloudflare:workers";
import { describe, inject, it } from "vitest";
import { modelBlobKey, SHARED_MODELS } from "../../src/blobs/keys.ts";
import { createDb } from "../../src/db/client.ts";
import { getBlob, modelAt } from "../../src/db/models.ts";
import { modelSourceBytes } from "../support/model-source-bytes.ts";
import { expectProblem } from "../support/worker-helpers.ts";
import { completeModel, registerModel as register, verifiedModel as settled, sha256Hex, type TestModel } from "../support/worker-models.ts";

const SIZE = 300_000; // several 64 KiB chunks from the source

/** A file the source serves: its URL (with `query`), its bytes and their SHA-256. */
async function sourceFile(query = "", on = "127.0.0.1") {
  const seed = crypto.randomUUID();
  const bytes = modelSourceBytes(seed, SIZE);
  const url = `http://${on}:${inject("ssrfPort")}/model-file/${seed}/${SIZE}/file.safetensors${query}`;
  return { seed, url, bytes, sha256: await sha256Hex(bytes), name: `imported-${seed.slice(0, 8)}.safetensors` };
}

const redirectTo = (to: string) => `http://127.0.0.1:${inject("ssrfPort")}/redirect?status=302&to=${encodeURIComponent(to)}`;

async function stored(sha256: string): Promise<Uint8Array | null> {
  const object = await env.BLOBS.get(modelBlobKey(SHARED_MODELS, sha256));
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
}

describe("model import from a source URL", () => {
  it("answers 201 importing, downloads the file and is ready with exactly its bytes in R2", async ({ expect }) => {
    const f = await sourceFile();
    const res = await register({ folder: "loras", name: f.name, sha256: f.sha256, size: SIZE, source: { url: f.url } });
    expect(res.status).toBe(201);
    const model = (await res.json()) as TestModel;
    expect(model).toMatchObject({ state: "importing", upload: null, source: { kind: "url", url: f.url }, error: null });
    // Only an upload can be completed.
    await expectProblem(await completeModel(model.id), 409, "conflict");

    expect(await settled(model.id, f.sha256)).toMatchObject({ state: "ready", error: null, source: { kind: "url", url: f.url } });
    expect(await stored(f.sha256)).toEqual(f.bytes);

    // Another name for bytes the registry has is ready at once, whatever source it names.
    const alias = await register({ folder: "loras", name: `alias-${f.name}`, sha256: f.sha256, size: SIZE, source: { url: f.url } });
    expect(alias.status).toBe(201);
    expect(await alias.json()).toMatchObject({ state: "ready", upload: null });
  });

  it("a flipped byte fails the import with the hash it had, and stores nothing", async ({ expect }) => {
    const f = await sourceFile("?flip");
    const model = (await (await register({ folder: "loras", name: f.name, sha256: f.sha256, size: SIZE, source: { url: f.url } })).json()) as TestModel;
    expect(model.state).toBe("importing");
    const after = await settled(model.id, f.sha256);
    expect(after.state).toBe("failed");
    expect(after.error).toMatch(/^Import failed: The downloaded file's SHA-256 is [0-9a-f]{64}, not the declared /);
    expect(after.error).toContain("Nothing was stored");
    expect(await stored(f.sha256)).toBeNull();

    // Registering it again from the right URL starts over and succeeds.
    const good = (await sourceFile()).url.replace(/model-file\/[^/]+/, `model-file/${f.seed}`);
    const again = (await (await register({ folder: "loras", name: `2-${f.name}`, sha256: f.sha256, size: SIZE, source: { url: good } })).json()) as TestModel;
    expect(again.state).toBe("importing");
    expect((await settled(again.id, f.sha256)).state).toBe("ready");
    expect(await stored(f.sha256)).toEqual(f.bytes);
  });

  it("a source longer than declared is cut as soon as it passes the size, and stores nothing", async ({ expect }) => {
    const f = await sourceFile("?extra=70000"); // no Content-Length: only counting can tell
    const model = (await (await register({ folder: "vae", name: f.name, sha256: f.sha256, size: SIZE, source: { url: f.url } })).json()) as TestModel;
    const after = await settled(model.id, f.sha256);
    expect(after.state).toBe("failed");
    expect(after.error).toContain(`The source sent more than the declared ${SIZE} bytes`);
    expect(await stored(f.sha256)).toBeNull();
  });

  it("a declared size the source's Content-Length contradicts fails before any byte is stored", async ({ expect }) => {
    const f = await sourceFile();
    const smaller = SIZE - 1;
    const sha256 = await sha256Hex(f.bytes.subarray(0, smaller));
    const model = (await (await register({ folder: "vae", name: f.name, sha256, size: smaller, source: { url: f.url } })).json()) as TestModel;
    const after = await settled(model.id, sha256);
    expect(after).toMatchObject({ state: "failed" });
    expect(after.error).toContain(`larger than the declared ${smaller} bytes`);
    expect(await stored(sha256)).toBeNull();
  });

  it("follows a redirect to a listed host, and fails one to a host not in MODEL_SOURCE_HOSTS", async ({ expect }) => {
    const ok = await sourceFile();
    const model = (await (
      await register({ folder: "loras", name: ok.name, sha256: ok.sha256, size: SIZE, source: { url: redirectTo(ok.url) } })
    ).json()) as TestModel;
    expect((await settled(model.id, ok.sha256)).state).toBe("ready");
    expect(await stored(ok.sha256)).toEqual(ok.bytes);

    // An https host that is not on the list: the hop is refused before DNS or any fetch.
    const off = await sourceFile();
    const bounced = (await (
      await register({
        folder: "loras",
        name: off.name,
        sha256: off.sha256,
        size: SIZE,
        source: { url: redirectTo(`https://models.example.com/${off.seed}.safetensors`) },
      })
    ).json()) as TestModel;
    expect(bounced.state).toBe("importing");
    const after = await settled(bounced.id, off.sha256);
    expect(after.state).toBe("failed");
    expect(after.error).toContain("The URL's redirect target is on models.example.com, which is not in MODEL_SOURCE_HOSTS");
    expect(await stored(off.sha256)).toBeNull();
  });

  it("a source the registry may not download from is a 422 at registration, and nothing is created", async ({ expect }) => {
    const db = createDb(env.DB);
    const sha256 = "c".repeat(64);
    const cases: [string, RegExp][] = [
      ["https://example.com/models/x.safetensors", /example\.com, which is not in MODEL_SOURCE_HOSTS/],
      [`http://localhost:${inject("ssrfPort")}/model-file/a/1/x.safetensors`, /http scheme; only https/],
      ["https://huggingface.co/stabilityai/sdxl-vae/resolve/main/sdxl_vae.safetensors", /must pin a commit/],
      ["https://huggingface.co/stabilityai/sdxl-vae/resolve/v1.0/sdxl_vae.safetensors", /must pin a commit/],
      ["https://huggingface.co/stabilityai/sdxl-vae/blob/0123456789abcdef0123456789abcdef01234567/sdxl_vae.safetensors", /must pin a commit/],
      ["https://user:pw@huggingface.co/a/b/resolve/0123456789abcdef0123456789abcdef01234567/x.safetensors", /user name or password/],
      ["not a url", /not a valid absolute URL/],
    ];
    for (const [url, detail] of cases) {
      const name = `refused-${crypto.randomUUID().slice(0, 8)}.safetensors`;
      const problem = await expectProblem(await register({ folder: "loras", name, sha256, size: 10, source: { url } }), 422, "validation-failed");
      expect(problem.detail, url).toMatch(detail);
      expect(problem.errors, url).toEqual([expect.objectContaining({ pointer: "/source/url" })]);
      expect(await modelAt(db, SHARED_MODELS, "loras", name), url).toBeUndefined();
    }
    expect(await getBlob(db, SHARED_MODELS, sha256)).toBeUndefined();
    // A source is `{url}` and nothing else.
    await expectProblem(
      await register({ folder: "loras", name: "x.safetensors", sha256, size: 10, source: { url: "https://huggingface.co/a", kind: "url" } }),
      422,
      "validation-failed",
    );
  });
});
