// The storage quota (issue 19.3): outputs, uploads and private model files count; an upload that
// would pass the quota and any submit once it is reached get 429 storage-quota-exceeded, exactly
// at the limit; GET /v1/usage shows the bytes used and left.
import { describe, it } from "vitest";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import { SMALL_PNG } from "../support/ssrf-images.ts";
import { adminCall, call, createTenant, expectProblem, json, type TestTenant, userHeaders, WORKFLOW } from "../support/worker-helpers.ts";
import { eventFor, outputDescriptor, sendEvent, uploadOutput, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();
const OUT = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 5, 5, 5, 5, 5]);

const upload = (t: TestTenant) =>
  call("/v1/uploads", { method: "POST", body: SMALL_PNG, headers: { ...userHeaders(t.key, "u"), "Content-Type": "image/png" } });
const submit = (t: TestTenant) => call("/v1/jobs", json({ workflow: WORKFLOW }, userHeaders(t.key, "u")));
const usage = async (t: TestTenant) =>
  (await (await call("/v1/usage", { headers: userHeaders(t.key, "u") })).json()) as {
    storage_bytes_used: number;
    storage_bytes_remaining: number;
    limits: { storage_bytes: number };
  };
const setQuota = (t: TestTenant, bytes: number) => adminCall(`/v1/admin/tenants/${t.id}`, { ...json({ limits: { storage_bytes: bytes } }), method: "PATCH" });

describe("storage quota", () => {
  it("takes uploads up to exactly the quota, then refuses uploads and submits", async ({ expect }) => {
    const s = SMALL_PNG.length;
    const t = await createTenant({ limits: { storage_bytes: 2 * s } });
    expect(await usage(t)).toMatchObject({ storage_bytes_used: 0, storage_bytes_remaining: 2 * s, limits: { storage_bytes: 2 * s } });
    expect((await upload(t)).status).toBe(201);
    expect((await upload(t)).status).toBe(201); // exactly at the limit
    expect(await usage(t)).toMatchObject({ storage_bytes_used: 2 * s, storage_bytes_remaining: 0 });
    const refused = await expectProblem(await upload(t), 429, "storage-quota-exceeded");
    expect(refused).toMatchObject({ limit: 2 * s, current: 2 * s });
    expect(refused.detail).toContain("limits.storage_bytes");
    await expectProblem(await submit(t), 429, "storage-quota-exceeded");

    // One byte more: a submit fits (nothing is stored yet), another upload still does not.
    expect((await setQuota(t, 2 * s + 1)).status).toBe(200);
    const admitted = await submit(t);
    expect(admitted.status).toBe(202);
    await expectProblem(await upload(t), 429, "storage-quota-exceeded");
    // (No host serves this test: the job is still queued, and cancelled so no later test's host gets it.)
    const { id } = (await admitted.json()) as { id: string };
    expect((await call(`/v1/jobs/${id}`, { method: "DELETE", headers: userHeaders(t.key, "u") })).status).toBe(200);
    // Another tenant is not affected.
    expect((await upload(await createTenant({ limits: { storage_bytes: s } }))).status).toBe(201);
  });

  it("counts a job's outputs when they are stored and frees them when they are deleted", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const res = await submit(t);
    const { id } = (await res.json()) as { id: string };
    const d = (await waitForDispatches(host, 1)).find((x) => x.job_id === id);
    await sendEvent(host, eventFor(host, d!, "job.started", { prompt_id: "p" }));
    expect((await uploadOutput(host, d!, "a.png", OUT)).status).toBe(201);
    // The same output stored again (a retried upload) is counted once.
    expect((await uploadOutput(host, d!, "a.png", OUT)).status).toBe(201);
    expect((await usage(t)).storage_bytes_used).toBe(OUT.length);
    await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [outputDescriptor("a.png", OUT, toHex(await sha256(OUT)))] }));
    expect((await call(`/v1/jobs/${id}/outputs`, { method: "DELETE", headers: userHeaders(t.key, "u") })).status).toBe(200);
    expect((await usage(t)).storage_bytes_used).toBe(0);
  });
});
