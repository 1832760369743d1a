// A pool's autoscaling settings through the admin API (issue 18.2): the policy's bounds, a provider
// this deployment cannot use, and a template for the wrong provider are each a 422 that names the
// field; nothing is stored then. (Turning it on for real runs end to end: test/e2e/autoscaling.test.ts.)
import { describe, it } from "vitest";
import { adminCall, expectProblem, json } from "../support/worker-helpers.ts";

const patch = (name: string, body: unknown) => adminCall(`/v1/admin/pools/${name}`, { ...json(body), method: "PATCH" });

async function pool(name: string): Promise<void> {
  const res = await adminCall("/v1/admin/pools", json({ name }));
  if (res.status !== 201) throw new Error(`pool: ${res.status} ${await res.text()}`);
}

const RUNPOD = { image: "ghcr.io/example/comfyui-saas-host:1.0.0", gpu_type_ids: ["NVIDIA L4"] };

describe("pool autoscaling settings", () => {
  it("refuses settings the policy cannot keep, naming each problem", async ({ expect }) => {
    await pool("as-bounds");
    const cases: [Record<string, unknown>, string][] = [
      [{ provider: "runpod", runpod: RUNPOD, min_hosts: 3, max_hosts: 2 }, "min_hosts (3) must not exceed max_hosts (2)"],
      [{ provider: "runpod", runpod: RUNPOD, buffer_hosts: 5, max_hosts: 2 }, "buffer_hosts (5) must not exceed max_hosts (2)"],
      [{ provider: "runpod", runpod: RUNPOD, boot_timeout_seconds: 5 }, "boot_timeout_seconds"],
      [{ provider: "runpod", runpod: RUNPOD, max_hosts: 101 }, "max_hosts"],
      [{ provider: "runpod" }, "provider runpod needs a runpod launch template"],
      [{ provider: "local", runpod: RUNPOD }, "a runpod template is only for provider runpod"],
      [{ provider: "runpod", runpod: { ...RUNPOD, gpu_type_ids: [] } }, "gpu_type_ids"],
      [{ provider: "aws" }, "provider"],
      [{ provider: "runpod", runpod: RUNPOD, min_host: 1 }, "min_host"],
    ];
    for (const [autoscaling, mentioned] of cases) {
      const problem = await expectProblem(await patch("as-bounds", { autoscaling }), 422, "validation-failed");
      expect(JSON.stringify(problem), JSON.stringify(autoscaling)).toContain(mentioned);
    }
    const read = (await (await adminCall("/v1/admin/pools/as-bounds")).json()) as { autoscaling: unknown };
    expect(read.autoscaling).toBeNull();
  });

  it("refuses a provider this deployment is not set up for", async ({ expect }) => {
    await pool("as-provider");
    // No RUNPOD_API_KEY in the test Worker.
    const runpod = await expectProblem(await patch("as-provider", { autoscaling: { provider: "runpod", runpod: RUNPOD } }), 422, "validation-failed");
    expect(runpod.detail).toContain("RUNPOD_API_KEY");
    expect(runpod.errors).toEqual([{ pointer: "/autoscaling/provider", detail: expect.stringContaining("RUNPOD_API_KEY") }]);
    // No LOCAL_PROVIDER_URL either.
    const local = await expectProblem(await patch("as-provider", { autoscaling: { provider: "local" } }), 422, "validation-failed");
    expect(local.detail).toContain("LOCAL_PROVIDER_URL");
    expect(((await (await adminCall("/v1/admin/pools/as-provider")).json()) as { autoscaling: unknown }).autoscaling).toBeNull();
  });

  it("prices a pool's GPU-seconds, within bounds", async ({ expect }) => {
    await pool("as-price");
    const res = await patch("as-price", { price_per_gpu_second: 0.00024 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { price_per_gpu_second: number }).price_per_gpu_second).toBe(0.00024);
    await expectProblem(await patch("as-price", { price_per_gpu_second: -1 }), 422, "validation-failed");
    const cleared = await patch("as-price", { price_per_gpu_second: null });
    expect(((await cleared.json()) as { price_per_gpu_second: unknown }).price_per_gpu_second).toBeNull();
  });

  it("lists no instances for a pool the autoscaler never scaled, and 404 for an unknown pool", async ({ expect }) => {
    await pool("as-none");
    const res = await adminCall("/v1/admin/pools/as-none/instances");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ data: [], scaler: { autoscaled: false, consecutive_failures: 0 } });
    await expectProblem(await adminCall("/v1/admin/pools/no-such-pool/instances"), 404, "not-found");
  });
});
