// Configuration: one schema, safe defaults, secrets required, clear refusals that never echo a
// value; the generated .env.example and docs/gpu-backend-config.md match it.
import { readFileSync } from "node:fs";
import { describe, it } from "vitest";
import { generateEdgeSigningKey } from "../../../src/protocol/edge-signing.ts";
import { newSecret } from "../../../src/protocol/standard-webhooks.ts";
import { loadConfig, settings } from "../../src/config.ts";
import { renderConfigDoc, renderEnvExample } from "../../src/config-render.ts";
import { spawnService } from "../support/spawn-service.ts";

const valid = async () => {
  const { jwks } = await generateEdgeSigningKey("k1");
  return { HOST_ID: "gpu-1", EDGE_URL: "https://edge.example.com", HOST_SECRET: newSecret(), EDGE_JWKS: JSON.stringify(jwks), COMFY_BASE_DIR: "/opt/comfyui" };
};

describe("config", () => {
  it("applies the safe, cheap defaults", async ({ expect }) => {
    const loaded = loadConfig(await valid());
    if (!loaded.ok) throw new Error(loaded.problems.join("; "));
    expect(loaded.config).toMatchObject({
      listenHost: "127.0.0.1",
      port: 8288,
      comfyUrl: "http://127.0.0.1:8188",
      slots: 1,
      prefetch: 2,
      comfyCommand: undefined,
      comfyArgs: [],
      logLevel: "info",
    });
    expect(loaded.config.hostSecrets).toHaveLength(1);
    expect(loaded.config.lockFile).toMatch(/gpu-backend\/locks\/emulator\.lock\.json$/);
  });

  it("requires the secrets and names every problem without echoing values", async ({ expect }) => {
    const loaded = loadConfig({});
    if (loaded.ok) throw new Error("accepted an empty environment");
    expect(loaded.problems.map((p) => p.split(":")[0])).toEqual(["HOST_ID", "EDGE_URL", "HOST_SECRET", "EDGE_JWKS", "COMFY_BASE_DIR"]);

    const secret = "whsec_dG9vLXNob3J0";
    const bad = loadConfig({ ...(await valid()), HOST_SECRET: secret, EDGE_URL: "http://edge.example.com", COMFY_URL: "http://10.0.0.5:8188", SLOTS: "0" });
    if (bad.ok) throw new Error("accepted bad values");
    expect(bad.problems.map((p) => p.split(":")[0]).sort()).toEqual(["COMFY_URL", "EDGE_URL", "HOST_SECRET", "SLOTS"]);
    expect(bad.problems.join("\n")).not.toContain(secret);
  });

  it("refuses a JWKS holding a private key, and accepts previous secrets for rotation", async ({ expect }) => {
    const { key } = await generateEdgeSigningKey("k1");
    const leaked = loadConfig({ ...(await valid()), EDGE_JWKS: JSON.stringify({ keys: [key.privateJwk] }) });
    expect(leaked.ok).toBe(false);
    if (!leaked.ok) expect(leaked.problems[0]).toMatch(/^EDGE_JWKS: .*private key/);
    const rotating = loadConfig({ ...(await valid()), HOST_SECRET_PREVIOUS: `${newSecret()}, ${newSecret()}` });
    expect(rotating.ok && rotating.config.hostSecrets.length).toBe(3);
  });

  it("always knows ComfyUI's folders: input/output/temp under COMFY_BASE_DIR unless overridden, temp apart from the others", async ({ expect }) => {
    const loaded = loadConfig({ ...(await valid()), COMFY_OUTPUT_DIR: "/data/out" });
    if (!loaded.ok) throw new Error(loaded.problems.join("; "));
    expect(loaded.config.comfyDirs).toEqual({ base: "/opt/comfyui", input: "/opt/comfyui/input", output: "/data/out", temp: "/opt/comfyui/temp" });
    expect(loadConfig({ ...(await valid()), COMFY_BASE_DIR: "comfy" })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^COMFY_BASE_DIR: must be an absolute path/)],
    });
    expect(loadConfig({ ...(await valid()), COMFY_TEMP_DIR: "/opt/comfyui/input/tmp" })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^COMFY_TEMP_DIR: .*input folder/)],
    });
    expect(loadConfig({ ...(await valid()), FILE_INPUT_NODES: "LoadImage" })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^FILE_INPUT_NODES/)],
    });
  });

  it("keeps the model cache under COMFY_BASE_DIR unless set, apart from ComfyUI's folders, within a budget in GiB", async ({ expect }) => {
    const loaded = loadConfig(await valid());
    if (!loaded.ok) throw new Error(loaded.problems.join("; "));
    expect(loaded.config).toMatchObject({ modelCacheDir: "/opt/comfyui/model-cache", modelCacheBudgetBytes: 100 * 1024 ** 3 });
    const set = loadConfig({ ...(await valid()), MODEL_CACHE_DIR: "/data/models-cache", MODEL_CACHE_BUDGET_GB: "0.5" });
    expect(set.ok && [set.config.modelCacheDir, set.config.modelCacheBudgetBytes]).toEqual(["/data/models-cache", 512 * 1024 ** 2]);
    for (const [MODEL_CACHE_DIR, folder] of [
      ["/opt/comfyui/models/cache", "models"],
      ["/opt/comfyui/output/cache", "output"],
      ["/opt", "models"],
    ]) {
      expect(loadConfig({ ...(await valid()), MODEL_CACHE_DIR })).toMatchObject({
        ok: false,
        problems: expect.arrayContaining([expect.stringMatching(new RegExp(`^MODEL_CACHE_DIR: .*${folder} folder`))]),
      });
    }
    expect(loadConfig({ ...(await valid()), MODEL_CACHE_DIR: "cache" })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^MODEL_CACHE_DIR: must be an absolute path/)],
    });
    expect(loadConfig({ ...(await valid()), MODEL_CACHE_BUDGET_GB: "0" })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^MODEL_CACHE_BUDGET_GB/)],
    });
  });

  it("allows plain http to the edge only on loopback, and requires an origin", async ({ expect }) => {
    expect(loadConfig({ ...(await valid()), EDGE_URL: "http://127.0.0.1:8787" }).ok).toBe(true);
    expect(loadConfig({ ...(await valid()), EDGE_URL: "https://edge.example.com/api" }).ok).toBe(false);
    expect(loadConfig({ ...(await valid()), COMFY_ARGS: "--port 8188" }).ok).toBe(false);
  });

  it("the process refuses to start on invalid config: exit 78, one line per problem", async ({ expect }) => {
    const service = spawnService({ HOST_ID: "Not Valid", EDGE_URL: "https://edge.example.com", HOST_SECRET: "whsec_c2VjcmV0LXZhbHVlLXRoYXQtaXMtd3Jvbmc" });
    expect(await service.exited).toBe(78);
    const stderr = service.stderr.join("");
    expect(stderr).toContain("invalid configuration");
    expect(stderr).toMatch(/HOST_ID: /);
    expect(stderr).toMatch(/EDGE_JWKS: is required/);
    expect(stderr).not.toContain("c2VjcmV0LXZhbHVlLXRoYXQtaXMtd3Jvbmc");
  });
});

describe("generated config files", () => {
  const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");
  it.each([
    ["../../.env.example", renderEnvExample],
    ["../../../docs/gpu-backend-config.md", renderConfigDoc],
  ])("%s matches the schema (run `npm run config:gen -w gpu-backend`)", (path, render) => {
    if (read(path) !== render()) throw new Error(`${path} is out of date: run npm run config:gen -w gpu-backend`);
  });

  it("list every setting", ({ expect }) => {
    const example = read("../../.env.example");
    for (const name of Object.keys(settings)) expect(example).toMatch(new RegExp(`^${name}=`, "m"));
    expect(example).toMatch(/^SLOTS=1$/m);
    expect(example).toMatch(/^LISTEN_HOST=127\.0\.0\.1$/m);
  });
});
