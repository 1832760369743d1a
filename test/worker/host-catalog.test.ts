// Hosts publish a catalog (issue 13.2): object_info + model inventory, signed like every host
// message, checked against its own hash, stored once per hash, and unioned over a pool's live hosts.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import recorded from "../../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json";
import { catalogKey } from "../../src/blobs/keys.ts";
import { MAX_CATALOG_CHARS } from "../../src/protocol/catalog.ts";
import { signHostPayload } from "../../src/protocol/host-signing.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { adminCall, call, expectProblem, json } from "../support/worker-helpers.ts";
import { catalogMessage, heartbeat, postSigned, publishCatalog, registerFakeHost, type TestHost, useTestHosts } from "../support/worker-hosts.ts";

const { track, liveHost } = useTestHosts();

/** A small catalog unique to this test (so content-addressed storage starts empty for it). */
function content(tag = crypto.randomUUID().slice(0, 8), extraModel?: string) {
  return {
    object_info: {
      KSampler: { input: { required: { seed: ["INT", { default: 0 }] } }, output: ["LATENT"], python_module: "nodes", output_node: false },
      [`Tag_${tag}`]: { input: {}, output: [], python_module: "custom_nodes.tag", output_node: true },
    },
    models: {
      checkpoints: [{ name: "sd15.safetensors", size: 123 }, ...(extraModel ? [{ name: extraModel, size: 7 }] : [])],
      loras: [],
    },
  };
}

async function newPool(): Promise<string> {
  const name = `cat-${crypto.randomUUID().slice(0, 8)}`;
  const res = await adminCall("/v1/admin/pools", json({ name }));
  if (res.status !== 201) throw new Error(`pool create: ${res.status} ${await res.text()}`);
  return name;
}

async function hostIn(pool: string): Promise<TestHost> {
  return track(await registerFakeHost(1, undefined, pool));
}

type AdminHost = { id: string; catalog_hash: string | null; catalog_known: boolean; resident_models: string[] };
async function adminHost(id: string): Promise<AdminHost> {
  const list = (await (await adminCall("/v1/admin/hosts")).json()) as { data: AdminHost[] };
  return list.data.find((h) => h.id === id)!;
}

describe("host catalog", () => {
  it("a signed catalog is stored by its hash and shows in the admin host view", async ({ expect }) => {
    const host = await liveHost();
    const c = content();
    const msg = await catalogMessage(host, c);
    const res = await postSigned(host, edgePaths.catalog(host.id), msg);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hash: msg.hash, stored: true });
    const object = await env.BLOBS.get(catalogKey(msg.hash));
    expect(object).not.toBeNull();
    expect(JSON.parse(await object!.text())).toEqual({ models: c.models, object_info: c.object_info });
    expect(await adminHost(host.id)).toMatchObject({ catalog_hash: msg.hash, catalog_known: true, resident_models: [] });
  });

  it("takes a real ComfyUI 0.3.64 object_info (recorded)", async ({ expect }) => {
    const host = await liveHost();
    const objectInfo = (recorded as { json: Record<string, Record<string, unknown>> }).json;
    const res = await publishCatalog(host, {
      object_info: objectInfo,
      models: { checkpoints: [{ name: "sd15.safetensors", size: 1, sha256: "c".repeat(64) }] },
    });
    expect(res.status).toBe(200);
    const cat = (await (await adminCall("/v1/admin/pools/default/catalog")).json()) as { classes: Record<string, string[]> };
    expect(cat.classes.KSampler).toContain(host.id);
    expect(Object.keys(cat.classes).length).toBeGreaterThanOrEqual(Object.keys(objectInfo).length);
  });

  it("an unsigned or wrongly signed catalog is a 401", async () => {
    const host = await liveHost();
    const text = JSON.stringify(await catalogMessage(host, content()));
    const forged = await signHostPayload([`whsec_${btoa("not-the-host-secret-at-all-32-bytes!")}`], text);
    const bad = await call(edgePaths.catalog(host.id), { method: "POST", body: text, headers: { ...forged, "Content-Type": "application/json" } });
    await expectProblem(bad, 401, "unauthenticated");
    await expectProblem(await call(edgePaths.catalog(host.id), json(JSON.parse(text))), 401, "unauthenticated");
  });

  it("a catalog whose hash is not its content's is a 422 that says how to compute it", async ({ expect }) => {
    const host = await liveHost();
    const msg = await catalogMessage(host, content(), { hash: "a".repeat(64) });
    const body = await expectProblem(await postSigned(host, edgePaths.catalog(host.id), msg), 422, "validation-failed");
    expect(body.detail).toMatch(/canonical JSON/);
    expect(await env.BLOBS.head(catalogKey("a".repeat(64)))).toBeNull();
  });

  it("bounds what a host sends: over the catalog cap is a 413, a bad model name a 422", async ({ expect }) => {
    const host = await liveHost();
    const huge = content();
    (huge.object_info as Record<string, unknown>).Huge = { padding: "x".repeat(MAX_CATALOG_CHARS) };
    const res = await postSigned(host, edgePaths.catalog(host.id), await catalogMessage(host, huge));
    const problem = await expectProblem(res, 413, "payload-too-large");
    expect(problem.detail).toMatch(/limited to 8388608 characters/);
    const traversal = { ...content(), models: { checkpoints: [{ name: "../../etc/passwd" }] } };
    await expectProblem(await postSigned(host, edgePaths.catalog(host.id), await catalogMessage(host, traversal)), 422, "validation-failed");
    // A catalog bigger than a heartbeat's cap but within its own is fine.
    const big = content();
    (big.object_info as Record<string, unknown>).Big = { description: "y".repeat(600 * 1024) };
    expect((await publishCatalog(host, big)).status).toBe(200);
  });

  it("identical hosts share one stored catalog; the pool catalog is the union over live hosts only", async ({ expect }) => {
    const pool = await newPool();
    const [a, b, c, silent] = [await hostIn(pool), await hostIn(pool), await hostIn(pool), await hostIn(pool)];
    const same = content();
    const first = await publishCatalog(a, same);
    const second = await publishCatalog(b, same);
    const hash = ((await first.json()) as { hash: string; stored: boolean }).hash;
    expect(await second.json()).toEqual({ hash, stored: false });
    const listed = await env.BLOBS.list({ prefix: "catalogs/" });
    expect(listed.objects.filter((o) => o.key === catalogKey(hash))).toHaveLength(1);

    const other = content(undefined, "flux.safetensors");
    const third = (await (await publishCatalog(c, other)).json()) as { hash: string };
    // `silent` publishes but never heartbeats: not live, not in the union.
    expect((await publishCatalog(silent, content(undefined, "only-silent.safetensors"))).status).toBe(200);
    for (const h of [a, b, c]) expect((await heartbeat(h)).status).toBe(200);

    const res = await adminCall(`/v1/admin/pools/${pool}/catalog`);
    expect(res.status).toBe(200);
    const cat = (await res.json()) as {
      hosts: { id: string; catalog_hash: string }[];
      hosts_without_catalog: string[];
      catalogs: number;
      classes: Record<string, string[]>;
      models: Record<string, Record<string, string[]>>;
    };
    expect(cat.hosts.map((h) => h.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(cat.catalogs).toBe(2);
    expect(cat.hosts_without_catalog).toEqual([]);
    expect(cat.classes.KSampler?.sort()).toEqual([a.id, b.id, c.id].sort());
    expect(cat.models.checkpoints?.["sd15.safetensors"]?.sort()).toEqual([a.id, b.id, c.id].sort());
    expect(cat.models.checkpoints?.["flux.safetensors"]).toEqual([c.id]);
    expect(cat.models.checkpoints?.["only-silent.safetensors"]).toBeUndefined();
    expect(cat.hosts.find((h) => h.id === c.id)?.catalog_hash).toBe(third.hash);

    await expectProblem(await adminCall("/v1/admin/pools/no-such-pool/catalog"), 404, "not-found");
  });

  it("heartbeats carry the catalog hash and resident models; an unknown hash asks for the catalog", async ({ expect }) => {
    const host = await liveHost();
    const c = content();
    const hash = ((await (await publishCatalog(host, c)).json()) as { hash: string }).hash;
    const ok = await heartbeat(host, { catalog_hash: hash, resident_models: ["checkpoints/sd15.safetensors"] });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { catalog_wanted?: boolean }).catalog_wanted).toBeUndefined();
    expect(await adminHost(host.id)).toMatchObject({ catalog_hash: hash, catalog_known: true, resident_models: ["checkpoints/sd15.safetensors"] });

    const unknown = "b".repeat(64);
    const asked = await heartbeat(host, { catalog_hash: unknown });
    expect(((await asked.json()) as { catalog_wanted?: boolean }).catalog_wanted).toBe(true);
    // Resident models are kept from the last heartbeat that said them.
    expect(await adminHost(host.id)).toMatchObject({ catalog_hash: unknown, catalog_known: false, resident_models: ["checkpoints/sd15.safetensors"] });

    const tooMany = Array.from({ length: 65 }, (_, i) => `checkpoints/m${i}.safetensors`);
    await expectProblem(await heartbeat(host, { resident_models: tooMany }), 422, "validation-failed");
  });
});
