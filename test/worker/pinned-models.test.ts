// A pool's pinned model files (issue 14.1/14.3): registry files every host of the pool keeps.
// Heartbeat replies carry their refs; a host of that pool (and no other) downloads them with a
// host-level signed GET, not bound to any job. The two kinds of manifest never stand in for each
// other. Unknown ids are refused when the pool is set.
import { describe, it } from "vitest";
import { signHostManifest } from "../../src/protocol/host-signing.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { adminCall, call, expectProblem, json } from "../support/worker-helpers.ts";
import { heartbeatMessage, postSigned, registerFakeHost, type TestHost, useTestHosts } from "../support/worker-hosts.ts";
import { fileBytes, readyModel } from "../support/worker-models.ts";

const { track } = useTestHosts();

async function pool(settings: Record<string, unknown>): Promise<Response> {
  return adminCall("/v1/admin/pools", json({ name: `pin-${crypto.randomUUID().slice(0, 8)}`, ...settings }));
}

async function hostIn(poolName: string): Promise<TestHost> {
  return track(await registerFakeHost(1, undefined, poolName));
}

async function getPinned(host: TestHost, sha256: string): Promise<Response> {
  const path = edgePaths.pinnedModel(host.id, sha256);
  return call(path, { headers: await signHostManifest([host.secret], { host_id: host.id, method: "GET", path }) });
}

describe("pinned model files", () => {
  it("heartbeat replies list them; the pool's hosts download them without a job; others cannot", async ({ expect }) => {
    const bytes = fileBytes(1_500);
    const model = await readyModel("checkpoints", `pinned-${crypto.randomUUID().slice(0, 8)}.safetensors`, bytes);
    const res = await pool({ pinned_models: [model.id] });
    expect(res.status).toBe(201);
    const p = (await res.json()) as { name: string; pinned_models: string[] };
    expect(p.pinned_models).toEqual([model.id]);
    const host = await hostIn(p.name);

    const reply = (await (await postSigned(host, edgePaths.heartbeat(host.id), heartbeatMessage(host))).json()) as { pinned_models?: unknown };
    expect(reply.pinned_models).toEqual([{ folder: "checkpoints", name: expect.stringMatching(/^pinned-/), sha256: model.sha256, size: bytes.length }]);
    const got = await getPinned(host, model.sha256);
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);

    // A file the pool does not pin, or a host of another pool: nothing.
    const other = await readyModel("loras", `unpinned-${crypto.randomUUID().slice(0, 8)}.safetensors`, fileBytes(50));
    await expectProblem(await getPinned(host, other.sha256), 404, "not-found");
    const stranger = await hostIn(((await (await pool({})).json()) as { name: string }).name);
    await expectProblem(await getPinned(stranger, model.sha256), 404, "not-found");
  });

  it("a job's manifest does not open the pinned route, nor a host manifest a job's", async () => {
    const model = await readyModel("vae", `pin-vae-${crypto.randomUUID().slice(0, 8)}.safetensors`, fileBytes(64));
    const p = (await (await pool({ pinned_models: [model.id] })).json()) as { name: string };
    const host = await hostIn(p.name);
    const path = edgePaths.pinnedModel(host.id, model.sha256);
    const jobManifest = await signHostManifest([host.secret], {
      job_id: "job_x",
      attempt: 1,
      lease_id: "lease-xxxxxxxx",
      host_id: host.id,
      method: "GET",
      path,
    });
    await expectProblem(await call(path, { headers: jobManifest }), 401, "unauthenticated");
    const inputPath = edgePaths.input(host.id, "job_x", "inp_1");
    const hostManifest = await signHostManifest([host.secret], { host_id: host.id, method: "GET", path: inputPath });
    await expectProblem(await call(inputPath, { headers: hostManifest }), 401, "unauthenticated");
  });

  it("refuses ids that are not registry models", async ({ expect }) => {
    const bad = await expectProblem(await pool({ pinned_models: ["mdl_aaaaaaaaaaaaaaaaaaaa"] }), 422, "validation-failed");
    expect(bad.errors).toEqual([{ pointer: "/pinned_models/0", detail: expect.stringContaining("not a model") }]);
    await expectProblem(await pool({ pinned_models: ["nope"] }), 422, "validation-failed");
  });
});
