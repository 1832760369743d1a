// DELETE /v1/jobs/{id}/outputs (issue 19.2, first part): the owner removes an ended job's outputs
// for good, from R2 and D1; their links stop working, the job stays; nobody else can; a live job's
// outputs are not touched.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import { call, createTenant, expectProblem, submitOk, userHeaders } from "../support/worker-helpers.ts";
import { eventFor, outputDescriptor, sendEvent, uploadOutput, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7, 7]);

interface View {
  status: string;
  outputs: { name: string; url: string }[];
}

const view = async (key: string, user: string, id: string) => (await (await call(`/v1/jobs/${id}`, { headers: userHeaders(key, user) })).json()) as View;
const remove = (key: string, user: string, id: string) => call(`/v1/jobs/${id}/outputs`, { method: "DELETE", headers: userHeaders(key, user) });

describe("DELETE /v1/jobs/{id}/outputs", () => {
  it("removes an ended job's outputs from storage for good; the job stays and its links stop working", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "owner");
    const [d] = await waitForDispatches(host, 1);
    await sendEvent(host, eventFor(host, d!, "job.started", { prompt_id: "p" }));
    // A live job's outputs are not deleted.
    expect((await uploadOutput(host, d!, "a.png", PNG)).status).toBe(201);
    await expectProblem(await remove(t.key, "owner", job.id), 409, "conflict");
    expect((await uploadOutput(host, d!, "b.png", PNG)).status).toBe(201);
    const sha = toHex(await sha256(PNG));
    await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [outputDescriptor("a.png", PNG, sha), outputDescriptor("b.png", PNG, sha)] }));
    const before = await view(t.key, "owner", job.id);
    expect(before.outputs.map((o) => o.name).sort()).toEqual(["a.png", "b.png"]);
    expect((await call(before.outputs[0]!.url)).status).toBe(200);
    const keys = (await env.DB.prepare("SELECT r2_key FROM job_outputs WHERE job_id = ?").bind(job.id).all<{ r2_key: string }>()).results.map((r) => r.r2_key);
    expect(keys).toHaveLength(2);

    // Nobody else can: another user of the tenant, another tenant (a 404 either way).
    const other = await createTenant();
    await expectProblem(await remove(t.key, "someone-else", job.id), 404, "not-found");
    await expectProblem(await remove(other.key, "owner", job.id), 404, "not-found");
    expect((await view(t.key, "owner", job.id)).outputs).toHaveLength(2);

    const res = await remove(t.key, "owner", job.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ job_id: job.id, deleted: 2, bytes: 2 * PNG.length });
    const after = await view(t.key, "owner", job.id);
    expect(after).toMatchObject({ status: "succeeded", outputs: [] });
    for (const o of before.outputs) await expectProblem(await call(o.url), 404, "not-found");
    await expectProblem(await call(`/v1/jobs/${job.id}/outputs/a.png`, { headers: userHeaders(t.key, "owner") }), 404, "not-found");
    for (const key of keys) expect(await env.BLOBS.head(key)).toBeNull();
    // Again: nothing left to remove.
    expect(await (await remove(t.key, "owner", job.id)).json()).toEqual({ job_id: job.id, deleted: 0, bytes: 0 });
  });
});
