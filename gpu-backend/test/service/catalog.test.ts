// The host's catalog (issue 13.2): ComfyUI's object_info and model files, published on ready,
// named by hash in heartbeats, published again when it changes or when the edge asks for it.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "vitest";
import { catalogHash } from "../../../src/protocol/catalog.ts";
import { writeFakeModel } from "../../emulator/models/safetensors.ts";
import { startHarness } from "../support/harness.ts";

const SD15 = "checkpoints/sd15.safetensors";
const LORA = "loras/style/ink.safetensors";

describe("catalog", () => {
  it("publishes object_info and the model files on ready; heartbeats carry its hash", async ({ expect }) => {
    let modelsDir = "";
    const h = await startHarness({
      beforeService: async (emulator) => {
        modelsDir = join(emulator.dirs.base, "models");
        writeFakeModel(join(modelsDir, SD15), { architecture: "stable-diffusion-v1" });
        writeFakeModel(join(modelsDir, LORA), { architecture: "stable-diffusion-v1" });
      },
    });
    const published = await h.edge.waitUntil(() => h.edge.catalogs[0], 10_000, "a catalog");
    expect(published.host_id).toBe(h.edge.hostId);
    expect(published.hash).toBe(await catalogHash(published));
    // object_info is ComfyUI's own (the emulator's), classes and input specs included.
    const info = (await (await fetch(`${h.emulator.url}/object_info`)).json()) as Record<string, { input: unknown }>;
    expect(Object.keys(published.object_info).sort()).toEqual(Object.keys(info).sort());
    expect(published.object_info.KSampler?.input).toEqual(info.KSampler?.input);
    expect(published.models.checkpoints).toEqual([{ name: "sd15.safetensors", size: statSync(join(modelsDir, SD15)).size }]);
    expect(published.models.loras).toEqual([{ name: "style/ink.safetensors", size: statSync(join(modelsDir, LORA)).size }]);
    expect(published.models.vae).toEqual([]);

    const hb = await h.edge.waitForHeartbeat((b) => b.catalog_hash !== undefined);
    expect(hb.catalog_hash).toBe(published.hash);
    expect(hb.resident_models).toBeUndefined();
    expect(h.service.catalog.publishedHash).toBe(published.hash);
  });

  it("publishes object_info as ComfyUI wrote it, sizes from every default directory of a folder, and no custom_nodes", async ({ expect }) => {
    let modelsDir = "";
    const h = await startHarness({
      beforeService: async (emulator) => {
        modelsDir = join(emulator.dirs.base, "models");
        // ComfyUI's second directories for three folders (folder_paths.py: clip, unet, t2i_adapter).
        writeFakeModel(join(modelsDir, "clip", "t5.safetensors"));
        writeFakeModel(join(modelsDir, "unet", "flux.safetensors"));
        writeFakeModel(join(modelsDir, "t2i_adapter", "depth.pth"));
        mkdirSync(join(emulator.dirs.base, "custom_nodes", "my-nodes"), { recursive: true });
        writeFileSync(join(emulator.dirs.base, "custom_nodes", "my-nodes", "__init__.py"), "NODE_CLASS_MAPPINGS = {}\n");
      },
    });
    const published = await h.edge.waitUntil(() => h.edge.catalogs[0], 10_000, "a catalog");
    const size = (path: string) => statSync(join(modelsDir, path)).size;
    expect(published.models.text_encoders).toEqual([{ name: "t5.safetensors", size: size("clip/t5.safetensors") }]);
    expect(published.models.diffusion_models).toEqual([{ name: "flux.safetensors", size: size("unet/flux.safetensors") }]);
    expect(published.models.controlnet).toEqual([{ name: "depth.pth", size: size("t2i_adapter/depth.pth") }]);
    // ComfyUI lists custom_nodes as a folder (every file of the node sources); it holds no models.
    expect((await (await fetch(`${h.emulator.url}/models/custom_nodes`)).json()) as string[]).toEqual(["my-nodes/__init__.py"]);
    expect(Object.keys(published.models)).not.toContain("custom_nodes");
    // Entry by entry in ComfyUI's key order (output_node after category, not first).
    const text = await (await fetch(`${h.emulator.url}/object_info`)).text();
    const info = JSON.parse(text) as Record<string, unknown>;
    for (const name of Object.keys(info)) expect(JSON.stringify(published.object_info[name]), name).toBe(JSON.stringify(info[name]));
  });

  it("publishes again when a model file is added, and not when nothing changed", async ({ expect }) => {
    const h = await startHarness();
    const first = await h.edge.waitUntil(() => h.edge.catalogs[0], 10_000, "the first catalog");
    expect(first.models.checkpoints).toEqual([]);
    expect(await h.service.catalog.check()).toEqual({ published: false, hash: first.hash });
    expect(h.edge.catalogs).toHaveLength(1);

    writeFakeModel(join(h.emulator.dirs.base, "models", "checkpoints", "new.safetensors"));
    // (A periodic check may have found the change first: either way it is published exactly once.)
    await h.service.catalog.check();
    expect(h.edge.catalogs).toHaveLength(2);
    const second = h.edge.catalogs[1]!;
    expect(h.service.catalog.publishedHash).toBe(second.hash);
    expect(second.hash).not.toBe(first.hash);
    expect(second.models.checkpoints?.map((m) => m.name)).toEqual(["new.safetensors"]);
    await h.edge.waitForHeartbeat((b) => b.catalog_hash === second.hash);
  });

  it("publishes again when the edge says it lacks the catalog", async ({ expect }) => {
    const h = await startHarness();
    const first = await h.edge.waitUntil(() => h.edge.catalogs[0], 10_000, "the first catalog");
    await h.edge.waitForHeartbeat((b) => b.catalog_hash === first.hash);
    h.edge.wantCatalog = true;
    const again = await h.edge.waitUntil(() => h.edge.catalogs[1], 10_000, "the catalog sent again");
    expect(again.hash).toBe(first.hash);
  });

  it("retries a catalog the edge failed to take (5xx)", async ({ expect }) => {
    const h = await startHarness();
    // The first publish already happened on ready; a new one meets two 503s and gets through.
    await h.edge.waitUntil(() => h.edge.catalogs[0], 10_000, "the first catalog");
    h.edge.fail("catalog", 503, 2);
    writeFakeModel(join(h.emulator.dirs.base, "models", "loras", "x.safetensors"));
    await h.service.catalog.check();
    expect(h.edge.catalogs).toHaveLength(2);
    expect(h.service.catalog.publishedHash).toBe(h.edge.catalogs[1]!.hash);
    expect(h.edge.requests.catalog).toBe(4);
  });
});
