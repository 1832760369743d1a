// Registered model files reach hosts through the edge (issue 14.3, edge side): a dispatch lists the
// ready registry files the job names (folder, name, SHA-256, size), and the host holding the
// job's current lease may download exactly those, by hash; anyone else, any other file, or after
// the lease moved on, may not.
import { describe, it } from "vitest";
import lora from "../../examples/lora.json";
import recorded from "../../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json";
import { signHostManifest } from "../../src/protocol/host-signing.ts";
import type { DispatchRef } from "../../src/protocol/messages.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { adminCall, call, createTenant, expectProblem, json, userHeaders } from "../support/worker-helpers.ts";
import { eventFor, heartbeat, publishCatalog, registerFakeHost, sendEvent, type TestHost, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";
import { fileBytes, readyModel } from "../support/worker-models.ts";

const { track } = useTestHosts();
const CHECKPOINT = "v1-5-pruned-emaonly-fp16.safetensors";

/** Real ComfyUI 0.3.64's object_info with the checkpoint installed and no LoRAs (they come on demand). */
function catalog() {
  const info = structuredClone((recorded as { json: Record<string, any> }).json);
  info.CheckpointLoaderSimple.input.required.ckpt_name[0] = [CHECKPOINT];
  info.LoraLoader.input.required.lora_name[0] = [];
  return { object_info: info, models: { checkpoints: [{ name: CHECKPOINT, size: 2_132_625_894 }], loras: [] } };
}

async function onDemandPoolWithHost(): Promise<{ pool: string; host: TestHost }> {
  const pool = `od-${crypto.randomUUID().slice(0, 8)}`;
  if ((await adminCall("/v1/admin/pools", json({ name: pool, model_files: "on_demand" }))).status !== 201) throw new Error("pool");
  const host = track(await registerFakeHost(1, undefined, pool));
  await heartbeat(host, { capacity: 1, free_slots: 1 });
  if ((await publishCatalog(host, catalog())).status !== 200) throw new Error("catalog");
  return { pool, host };
}

async function hostGetModel(host: TestHost, ref: DispatchRef, sha256: string): Promise<Response> {
  const path = edgePaths.model(host.id, ref.job_id, sha256);
  return call(path, { headers: await signHostManifest([host.secret], { ...ref, host_id: host.id, method: "GET", path }) });
}

describe("model files for a dispatched job", () => {
  it("the dispatch names them and its host downloads them, by hash, with their size and SHA-256", async ({ expect }) => {
    const bytes = fileBytes(3_000);
    const name = `lora-${crypto.randomUUID().slice(0, 8)}.safetensors`;
    const model = await readyModel("loras", name, bytes);
    const { pool, host } = await onDemandPoolWithHost();
    const t = await createTenant();
    const wf = structuredClone(lora.workflow) as Record<string, any>;
    wf["10"].inputs.lora_name = name;
    const res = await call("/v1/jobs", json({ workflow: wf, pool }, userHeaders(t.key, "u")));
    expect(res.status).toBe(202);

    const [d] = await waitForDispatches(host, 1);
    expect(d!.models).toEqual([{ folder: "loras", name, sha256: model.sha256, size: bytes.length }]);
    const got = await hostGetModel(host, d!, model.sha256);
    expect(got.status).toBe(200);
    expect(got.headers.get("X-Content-SHA256")).toBe(model.sha256);
    expect(got.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);

    // The host says how long it waited for the files; the job view shows it for this attempt.
    const none = { queued_ms: null, model_fetch_ms: null, input_fetch_ms: null, execution_ms: null, upload_ms: null, total_ms: null, gpu_ms: 0 };
    expect(((await res.clone().json()) as { timings: unknown }).timings).toEqual(none);
    const timings = async () =>
      ((await (await call(`/v1/jobs/${d!.job_id}`, { headers: userHeaders(t.key, "u") })).json()) as { timings: Record<string, unknown> }).timings;
    expect((await sendEvent(host, eventFor(host, d!, "job.started", { prompt_id: "p1", model_fetch_ms: 1234, input_fetch_ms: 56 }))).status).toBe(200);
    expect(await timings()).toMatchObject({ queued_ms: expect.any(Number), model_fetch_ms: 1234, input_fetch_ms: 56, execution_ms: null, total_ms: null });
    expect((await sendEvent(host, eventFor(host, d!, "job.executed", { execution_ms: 789 }))).status).toBe(200);
    expect(await timings()).toMatchObject({ model_fetch_ms: 1234, input_fetch_ms: 56, execution_ms: 789, upload_ms: null });

    // A file the job does not name, even a registered one, is not served to it.
    const other = await readyModel("loras", `other-${crypto.randomUUID().slice(0, 8)}.safetensors`, fileBytes(100));
    await expectProblem(await hostGetModel(host, d!, other.sha256), 404, "not-found");
    // Another host, or a stale lease, gets nothing.
    const intruder = track(await registerFakeHost(1, undefined, pool));
    await heartbeat(intruder);
    expect((await hostGetModel(intruder, d!, model.sha256)).status).toBe(409);
    await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [], upload_ms: 12 }));
    expect(await timings()).toMatchObject({ model_fetch_ms: 1234, input_fetch_ms: 56, execution_ms: 789, upload_ms: 12, total_ms: expect.any(Number) });
    expect((await hostGetModel(host, d!, model.sha256)).status).toBe(409);
  });

  it("a job naming no registered file gets an empty list", async ({ expect }) => {
    const { pool, host } = await onDemandPoolWithHost();
    const t = await createTenant();
    const wf = structuredClone(lora.workflow) as Record<string, any>;
    wf["10"].inputs.lora_name = `unregistered-${crypto.randomUUID().slice(0, 8)}.safetensors`;
    expect((await call("/v1/jobs", json({ workflow: wf, pool }, userHeaders(t.key, "u")))).status).toBe(202);
    const [d] = await waitForDispatches(host, 1);
    expect(d!.models).toEqual([]);
  });
});
