// POST /v1/workflows/validate: a submit's checks without the submit. Against the catalog a pool's
// live host published (real ComfyUI 0.3.64's object_info, with one checkpoint installed), ComfyUI's
// own verdict comes back with every error and its pointer; a pool no host has described can only
// be checked for shape and says so; the tenant's pool rules hold; no admission slot is taken.
import { describe, it } from "vitest";
import txt2img from "../../examples/txt2img.json";
import recorded from "../../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json";
import { adminCall, call, createTenant, expectProblem, json, userHeaders } from "../support/worker-helpers.ts";
import { heartbeat, publishCatalog, registerFakeHost, useTestHosts } from "../support/worker-hosts.ts";

const { track } = useTestHosts();
const CHECKPOINT = "v1-5-pruned-emaonly-fp16.safetensors";

/** The recorded object_info with `CHECKPOINT` in CheckpointLoaderSimple's list (no models were installed when it was recorded). */
function objectInfo(checkpoint = CHECKPOINT): Record<string, Record<string, unknown>> {
  const info = structuredClone((recorded as { json: Record<string, any> }).json);
  info.CheckpointLoaderSimple.input.required.ckpt_name[0] = [checkpoint];
  return info;
}

async function poolWithHost(publish: boolean, checkpoint = CHECKPOINT): Promise<string> {
  const pool = `val-${crypto.randomUUID().slice(0, 8)}`;
  expect201(await adminCall("/v1/admin/pools", json({ name: pool })));
  const host = track(await registerFakeHost(1, undefined, pool));
  if ((await heartbeat(host)).status !== 200) throw new Error("heartbeat refused");
  if (publish) {
    const res = await publishCatalog(host, { object_info: objectInfo(checkpoint), models: { checkpoints: [{ name: checkpoint, size: 2_132_625_894 }] } });
    if (res.status !== 200) throw new Error(`catalog: ${res.status} ${await res.text()}`);
  }
  return pool;
}

function expect201(res: Response): void {
  if (res.status !== 201) throw new Error(`pool create: ${res.status}`);
}

const submit = (key: string, body: unknown) => call("/v1/jobs", json(body, userHeaders(key, "alice")));
const validate = (key: string, body: unknown) => call("/v1/workflows/validate", json(body, userHeaders(key, "alice")));
const graph = (): Record<string, any> => structuredClone(txt2img.workflow);

describe("POST /v1/workflows/validate", () => {
  it("a graph the pool's host can run is valid, with that host eligible", async ({ expect }) => {
    const pool = await poolWithHost(true);
    const t = await createTenant();
    const res = await validate(t.key, { workflow: graph(), pool });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ valid: true, checked: true, pool, eligible_hosts: 1, errors: [], estimated_start_seconds: 0 });
  });

  it("a missing checkpoint, an unknown sampler and a wrong link come back at once, each with its pointer", async ({ expect }) => {
    const pool = await poolWithHost(true);
    const t = await createTenant();
    const wf = graph();
    wf["4"].inputs.ckpt_name = "sdxl.safetensors";
    wf["3"].inputs.sampler_name = "eulerr";
    wf["8"].inputs.vae = ["4", 1]; // CLIP where a VAE goes
    const body = (await (await validate(t.key, { workflow: wf, pool })).json()) as { valid: boolean; eligible_hosts: number; errors: any[] };
    expect(body).toMatchObject({ valid: false, eligible_hosts: 0 });
    expect(body.errors.map((e) => [e.pointer, e.code])).toEqual([
      ["/workflow/3/inputs/sampler_name", "value_not_in_list"],
      ["/workflow/4/inputs/ckpt_name", "value_not_in_list"],
      ["/workflow/8/inputs/vae", "return_type_mismatch"],
    ]);
    expect(body.errors[1].detail).toContain(CHECKPOINT);
  });

  it("an unknown class names the closest known ones", async ({ expect }) => {
    const pool = await poolWithHost(true);
    const t = await createTenant();
    const wf = graph();
    wf["3"].class_type = "KSamplr";
    const body = (await (await validate(t.key, { workflow: wf, pool })).json()) as { valid: boolean; errors: any[] };
    expect(body.valid).toBe(false);
    expect(body.errors[0]).toMatchObject({ pointer: "/workflow/3/class_type", code: "invalid_prompt", class_type: "KSamplr" });
    expect(body.errors[0].detail).toContain("KSampler");
  });

  it("a pool whose hosts published no catalog is checked for shape only, and says so", async ({ expect }) => {
    const pool = await poolWithHost(false);
    const t = await createTenant();
    const wf = graph();
    wf["4"].inputs.ckpt_name = "anything.safetensors";
    expect(await (await validate(t.key, { workflow: wf, pool })).json()).toEqual({
      valid: true,
      checked: false,
      pool,
      eligible_hosts: 0,
      errors: [],
      estimated_start_seconds: 0,
    });
    const broken = (await (await validate(t.key, { workflow: { "1": "not a node" }, pool })).json()) as { valid: boolean; errors: any[] };
    expect(broken.valid).toBe(false);
    expect(broken.errors[0].pointer).toBe("/workflow/1");
  });

  it("keeps the tenant's pool rules, and takes no admission slot", async ({ expect }) => {
    const pool = await poolWithHost(true);
    const restricted = await createTenant({ allowed_pools: ["default"] });
    await expectProblem(await validate(restricted.key, { workflow: graph(), pool }), 422, "pool-not-allowed");
    const t = await createTenant({ limits: { max_active_jobs_per_user: 1, requests_per_minute: 2 } });
    for (let i = 0; i < 5; i++) expect((await validate(t.key, { workflow: graph(), pool })).status).toBe(200);
    const usage = (await (await call("/v1/usage", { headers: userHeaders(t.key, "alice") })).json()) as Record<string, number>;
    expect(usage).toMatchObject({ user_active_jobs: 0, submissions_last_minute: 0 });
  });
});

describe("a submit is checked the same way", () => {
  it("a graph no live host of the pool accepts is a 422 with every error, and takes no slot", async ({ expect }) => {
    const pool = await poolWithHost(true);
    const t = await createTenant();
    const wf = graph();
    wf["3"].inputs.steps = 0;
    wf["8"].inputs.vae = ["4", 1];
    const res = await submit(t.key, { workflow: wf, pool });
    const body = (await expectProblem(res, 422, "invalid-workflow")) as { errors: any[]; detail: string };
    expect(body.errors.map((e) => [e.pointer, e.code])).toEqual([
      ["/workflow/3/inputs/steps", "value_smaller_than_min"],
      ["/workflow/8/inputs/vae", "return_type_mismatch"],
    ]);
    expect(body.detail).toContain(pool);
    const usage = (await (await call("/v1/usage", { headers: userHeaders(t.key, "alice") })).json()) as Record<string, number>;
    expect(usage).toMatchObject({ user_active_jobs: 0, submissions_last_minute: 0 });
  });

  it("a checkpoint no live host has is a 422 missing-model naming it, and the tenant's pools that have it", async ({ expect }) => {
    const pool = await poolWithHost(true);
    const sdxl = `sdxl-${crypto.randomUUID().slice(0, 8)}.safetensors`;
    const other = await poolWithHost(true, sdxl);
    const wf = graph();
    wf["4"].inputs.ckpt_name = sdxl;
    const t = await createTenant();
    const body = (await expectProblem(await submit(t.key, { workflow: wf, pool }), 422, "missing-model")) as Record<string, any>;
    expect(body).toMatchObject({
      pool,
      models: [sdxl],
      available_in: [other],
      errors: [{ pointer: "/workflow/4/inputs/ckpt_name", code: "value_not_in_list" }],
    });
    expect(body.detail).toContain(other);
    // A tenant that may not use the other pool is not told about it.
    const restricted = await createTenant({ default_pool: pool, allowed_pools: [pool] });
    const hidden = (await expectProblem(await submit(restricted.key, { workflow: wf, pool }), 422, "missing-model")) as Record<string, any>;
    expect(hidden.available_in).toEqual([]);
    expect(hidden.detail).not.toContain(other);
  });

  it("a graph the host can run is accepted; a pool without catalogs is not checked", async ({ expect }) => {
    const t = await createTenant();
    expect((await submit(t.key, { workflow: graph(), pool: await poolWithHost(true) })).status).toBe(202);
    const wf = graph();
    wf["4"].inputs.ckpt_name = "anything.safetensors";
    expect((await submit(t.key, { workflow: wf, pool: await poolWithHost(false) })).status).toBe(202);
  });
});
