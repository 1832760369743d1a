// Tenants' private model files (issue 14.2): a tenant adds a LoRA with `/v1/models` (the
// registry's upload, in its own scope and quota), names it `tenant:<name>` in a workflow, and the
// edge rewrites it to the host-side name and hands the host the file's ref. Another tenant cannot
// see it, use it by name, by `tenant:` form or by its host-side name, nor fetch it for its jobs;
// nor do other tenants' pre-flight errors ever list such files.
import { describe, it } from "vitest";
import lora from "../../examples/lora.json";
import recorded from "../../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json";
import { signHostManifest } from "../../src/protocol/host-signing.ts";
import type { DispatchRef } from "../../src/protocol/messages.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { adminCall, call, createTenant, documentedStatuses, expectProblem, json, type TestTenant, userHeaders } from "../support/worker-helpers.ts";
import { heartbeat, publishCatalog, registerFakeHost, type TestHost, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";
import { fileBytes, sha256Hex, type TestModel, tenantModels, verifiedModel } from "../support/worker-models.ts";

const { track } = useTestHosts();
const CHECKPOINT = "v1-5-pruned-emaonly-fp16.safetensors";

/** Real ComfyUI 0.3.64's object_info with the checkpoint and `loras` installed. */
function catalog(loras: string[] = []) {
  const info = structuredClone((recorded as { json: Record<string, any> }).json);
  info.CheckpointLoaderSimple.input.required.ckpt_name[0] = [CHECKPOINT];
  info.LoraLoader.input.required.lora_name[0] = loras;
  return { object_info: info, models: { checkpoints: [{ name: CHECKPOINT, size: 2_132_625_894 }], loras: loras.map((name) => ({ name, size: 10 })) } };
}

async function poolWithHost(loras: string[] = []): Promise<{ pool: string; host: TestHost }> {
  const pool = `tm-${crypto.randomUUID().slice(0, 8)}`;
  if ((await adminCall("/v1/admin/pools", json({ name: pool }))).status !== 201) throw new Error("pool");
  const host = track(await registerFakeHost(1, undefined, pool));
  await heartbeat(host, { capacity: 1, free_slots: 1 });
  if ((await publishCatalog(host, catalog(loras))).status !== 200) throw new Error("catalog");
  return { pool, host };
}

/** A ready private LoRA of tenant `t`. */
async function privateLora(t: TestTenant, name: string, bytes = fileBytes(2_000)): Promise<TestModel & { bytes: Uint8Array }> {
  const api = tenantModels(t.key);
  const sha256 = await sha256Hex(bytes);
  const res = await api.register({ folder: "loras", name, sha256, size: bytes.length });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  const model = (await res.json()) as TestModel;
  if ((await api.upload(model, bytes)).status !== 202) throw new Error("complete");
  const ready = await verifiedModel(model.id, sha256, api.read, t.id);
  if (ready.state !== "ready") throw new Error(`${ready.state}: ${ready.error}`);
  return { ...ready, bytes };
}

const submit = (t: TestTenant, body: unknown) => call("/v1/jobs", json(body, userHeaders(t.key, "u")));
function withLora(name: string): Record<string, any> {
  const wf = structuredClone(lora.workflow) as Record<string, any>;
  wf["10"].inputs.lora_name = name;
  return wf;
}
async function hostGetModel(host: TestHost, ref: DispatchRef, sha256: string): Promise<Response> {
  const path = edgePaths.model(host.id, ref.job_id, sha256);
  return call(path, { headers: await signHostManifest([host.secret], { ...ref, host_id: host.id, method: "GET", path }) });
}

describe("tenants' private model files", () => {
  it("the owner names its LoRA tenant:<name>; the host gets the rewritten workflow, the file's ref and its bytes", async ({ expect }) => {
    const a = await createTenant();
    const mine = await privateLora(a, "my-style.safetensors");
    const { pool, host } = await poolWithHost();
    const res = await submit(a, { workflow: withLora("tenant:my-style.safetensors"), pool });
    expect(res.status).toBe(202);
    const [d] = await waitForDispatches(host, 1);
    const hostName = `_t/${mine.sha256}.safetensors`;
    expect(d!.workflow["10"]).toMatchObject({ inputs: { lora_name: hostName } });
    expect(d!.models).toEqual([{ folder: "loras", name: hostName, sha256: mine.sha256, size: mine.bytes.length }]);
    const got = await hostGetModel(host, d!, mine.sha256);
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(mine.bytes);
    // The folder form works too, and validate agrees.
    const check = await call("/v1/workflows/validate", json({ workflow: withLora("tenant:loras/my-style.safetensors"), pool }, userHeaders(a.key, "u")));
    expect(await check.json()).toMatchObject({ valid: true, checked: true });
  });

  it("another tenant cannot see it, name it, reach it by its host-side name, or fetch it", async ({ expect }) => {
    const a = await createTenant();
    const b = await createTenant();
    const mine = await privateLora(a, "secret-style.safetensors");
    const { pool, host } = await poolWithHost();
    // Not visible.
    await expectProblem(await call(`/v1/models/${mine.id}`, { headers: userHeaders(b.key, "u") }), 404, "not-found");
    const listed = (await (await call("/v1/models", { headers: userHeaders(b.key, "u") })).json()) as { data: TestModel[] };
    expect(listed.data.map((m) => m.id)).not.toContain(mine.id);
    const owners = (await (await call("/v1/models", { headers: userHeaders(a.key, "u") })).json()) as { data: TestModel[] };
    expect(owners.data.map((m) => m.id)).toContain(mine.id);
    await expectProblem(await call(`/v1/models/${mine.id}`, { method: "DELETE", headers: userHeaders(b.key, "u") }), 404, "not-found");
    // Not usable by name, by tenant: form, or by host-side name.
    const byTenant = await expectProblem(await submit(b, { workflow: withLora("tenant:secret-style.safetensors"), pool }), 422, "unknown-model");
    expect(byTenant.errors).toEqual([{ pointer: "/workflow/10/inputs/lora_name", detail: expect.stringContaining("no model file by that name") }]);
    await expectProblem(await submit(b, { workflow: withLora(`_t/${mine.sha256}.safetensors`), pool }), 422, "invalid-input");
    await expectProblem(await submit(b, { workflow: withLora("secret-style.safetensors"), pool }), 422, "missing-model");
    const validate = await call("/v1/workflows/validate", json({ workflow: withLora("tenant:secret-style.safetensors"), pool }, userHeaders(b.key, "u")));
    expect(await validate.json()).toMatchObject({ valid: false, errors: [{ pointer: "/workflow/10/inputs/lora_name", code: "unknown_model" }] });
    // Not fetchable for one of its own jobs either.
    expect((await submit(b, { workflow: withLora("tenant:nothing.safetensors"), pool })).status).toBe(422);
    const own = await privateLora(b, "b-style.safetensors");
    expect((await submit(b, { workflow: withLora("tenant:b-style.safetensors"), pool })).status).toBe(202);
    const [d] = await waitForDispatches(host, 1);
    expect(d!.models.map((m) => m.sha256)).toEqual([own.sha256]);
    await expectProblem(await hostGetModel(host, d!, mine.sha256), 404, "not-found");
  });

  it("pre-flight never lists private files a host holds among the choices", async ({ expect }) => {
    const b = await createTenant();
    const hidden = `_t/${"e".repeat(64)}.safetensors`;
    const { pool } = await poolWithHost([hidden, "public-detail.safetensors"]);
    const refused = await expectProblem(await submit(b, { workflow: withLora("public-detai.safetensors"), pool }), 422, "missing-model");
    expect(JSON.stringify(refused)).not.toContain("_t/");
    expect(refused.detail).toContain("1 LoRA this pool has: 'public-detail.safetensors'");
  });

  it("keeps to the tenant's folders and quota", async ({ expect }) => {
    const t = await createTenant();
    const api = tenantModels(t.key);
    const sha256 = await sha256Hex(fileBytes(10));
    await expectProblem(await api.register({ folder: "checkpoints", name: "x.safetensors", sha256, size: 10 }), 422, "validation-failed");
    // TENANT_MODEL_BYTES is 100000 and TENANT_MAX_MODELS 4 in the test config.
    const big = await expectProblem(await api.register({ folder: "loras", name: "big.safetensors", sha256, size: 100_001 }), 403, "model-quota");
    expect(big).toMatchObject({ limit: 100_000, current: 0 });
    for (let i = 0; i < 4; i++) {
      const res = await api.register({ folder: "loras", name: `n${i}.safetensors`, sha256: await sha256Hex(fileBytes(100)), size: 100 });
      expect(res.status).toBe(201);
    }
    const many = await expectProblem(await api.register({ folder: "loras", name: "n5.safetensors", sha256, size: 10 }), 403, "model-quota");
    expect(many).toMatchObject({ limit: 4, current: 4 });
    // The OpenAPI document says so too (test/worker/fuzz.test.ts found it did not), and the
    // storage quota's 429; the operators' registry has no quota.
    expect(await documentedStatuses("POST", "/v1/models")).toEqual(expect.arrayContaining([403, 429]));
    expect(await documentedStatuses("POST", "/v1/admin/models")).not.toContain(403);
    // A tenant's own limit overrides the deployment's.
    const patched = await adminCall(`/v1/admin/tenants/${t.id}`, { ...json({ limits: { model_files: 5 } }), method: "PATCH" });
    expect(await patched.json()).toMatchObject({ limits: { model_files: 5 }, limit_overrides: { model_files: 5, model_bytes: null } });
    expect((await api.register({ folder: "loras", name: "n5.safetensors", sha256, size: 10 })).status).toBe(201);
  });
});
