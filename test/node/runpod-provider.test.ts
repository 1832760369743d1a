// RunPodProvider (src/capacity/runpod.ts) against a double of RunPod's REST API v2
// (test/support/node/runpod-double.ts): the exact requests it sends, how it reads the answers, how
// it walks the template's GPU types when RunPod cannot place one, that it only ever lists and
// touches pods under its prefix, and how every failure becomes a ProviderError (retryable or not)
// that never carries the API key.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/capacity/provider.ts";
import { RUNPOD_API_V2, RunPodProvider, type RunPodTemplate, runPodTemplateSchema } from "../../src/capacity/runpod.ts";
import { type RunPodDouble, startRunPodDouble } from "../support/node/runpod-double.ts";

const KEY = "rpa_TESTKEY0123456789abcdefSECRET";
const PREFIX = "csaas-test-";
const L4 = "NVIDIA L4";
const A5000 = "NVIDIA RTX A5000";
const A40 = "NVIDIA A40";
const TEMPLATE: RunPodTemplate = {
  image: "ghcr.io/acme/gpu-backend:1.2.3",
  gpu_type_ids: [L4, A5000, A40],
  gpu_count: 2,
  cloud_type: "COMMUNITY",
  container_disk_gb: 40,
  volume_gb: 20,
  volume_mount_path: "/data",
  port: 8188,
  env: { COMFY_ARGS: "--lowvram", EDGE_URL: "https://from-template.example" },
};
const SPEC = { name: `${PREFIX}pool-a-h1`, env: { EDGE_URL: "https://edge.example", HOST_ID: "h1", BOOTSTRAP_TOKEN: "bt_once" } };
/** The CreatePodRequest TEMPLATE + SPEC make, without `gpu` (which changes per attempt). */
const BODY = {
  name: SPEC.name,
  image: "ghcr.io/acme/gpu-backend:1.2.3",
  cloud: "COMMUNITY",
  env: { COMFY_ARGS: "--lowvram", EDGE_URL: "https://edge.example", HOST_ID: "h1", BOOTSTRAP_TOKEN: "bt_once" },
  ports: ["8188/http"],
  disk: 40,
  mounts: { persistent: { size: 20, path: "/data" } },
};

let double: RunPodDouble;

beforeAll(async () => {
  double = await startRunPodDouble({ apiKey: KEY });
});
afterAll(() => double.close());
beforeEach(() => double.reset());

function provider(over: Partial<ConstructorParameters<typeof RunPodProvider>[0]> = {}) {
  return new RunPodProvider({ apiKey: KEY, template: TEMPLATE, baseUrl: double.baseUrl, ...over });
}

/** The ProviderError a call rejects with (fails the test if it resolves or throws something else). */
async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

/** The GPU type of each create the double saw, in order. */
const attempts = () => double.requests.filter((r) => r.method === "POST").map((r) => (r.body as { gpu: { id: string } }).gpu.id);

describe("launch", () => {
  it("POSTs the documented CreatePodRequest: nested gpu, disk, persistent mount, spec env over template env, the port as <port>/http", async () => {
    const got = await provider().launch(SPEC);
    expect(double.requests).toHaveLength(1);
    const req = double.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/v2/pods");
    expect(req.authorization).toBe(`Bearer ${KEY}`);
    expect(req.body).toEqual({ ...BODY, gpu: { id: L4, count: 2 } });
    const id = double.pods()[0]!.id;
    // Just created: PROVISIONING. The proxy URL is known from the id and port already.
    expect(got).toEqual({ providerId: id, name: SPEC.name, state: "starting", url: `https://${id}-8188.proxy.runpod.net`, costPerHour: 0.88 });
  });

  it("leaves out what the template does not set (no disk, no mounts); gpu count, cloud and port have ours", async () => {
    await provider({ template: { image: "img:1", gpu_type_ids: [L4] } }).launch({ name: `${PREFIX}x`, env: {} });
    expect(double.requests[0]!.body).toEqual({
      name: `${PREFIX}x`,
      image: "img:1",
      gpu: { id: L4, count: 1 },
      cloud: "SECURE",
      env: {},
      ports: ["8080/http"],
    });
  });

  it("volume_gb 0 is no mount; a volume without a path is mounted at /workspace", async () => {
    const base = { image: "img:1", gpu_type_ids: [L4] };
    await provider({ template: { ...base, volume_gb: 0 } }).launch({ name: `${PREFIX}a`, env: {} });
    await provider({ template: { ...base, volume_gb: 10 } }).launch({ name: `${PREFIX}b`, env: {} });
    expect(double.requests.map((r) => (r.body as { mounts?: unknown }).mounts)).toEqual([undefined, { persistent: { size: 10, path: "/workspace" } }]);
  });

  it("refuses a name over 191 characters (or an empty one) without calling RunPod", async () => {
    for (const name of ["", PREFIX + "x".repeat(192 - PREFIX.length)]) {
      const err = await failure(provider().launch({ name, env: {} }));
      expect(err.retryable).toBe(false);
      expect(err.message).toContain("191");
    }
    await provider().launch({ name: PREFIX + "x".repeat(191 - PREFIX.length), env: {} });
    expect(double.requests).toHaveLength(1);
  });
});

describe("launch across GPU types", () => {
  it("moves on to the next type when RunPod cannot place one (400), the rest of the body unchanged", async () => {
    double.outOfCapacity(L4);
    const got = await provider().launch(SPEC);
    expect(attempts()).toEqual([L4, A5000]);
    for (const r of double.requests) expect(r.body).toEqual({ ...BODY, gpu: { id: (r.body as { gpu: { id: string } }).gpu.id, count: 2 } });
    expect(double.pods()).toHaveLength(1);
    expect(double.pods()[0]!.gpu).toEqual({ id: A5000, count: 2 });
    expect(got.providerId).toBe(double.pods()[0]!.id);
  });

  it("moves on past a pool the account cannot use (403), as documented for create", async () => {
    double.forbidGpuTypes(L4);
    double.outOfCapacity(A5000);
    await provider().launch(SPEC);
    expect(attempts()).toEqual([L4, A5000, A40]);
    expect(double.pods()[0]!.gpu?.id).toBe(A40);
  });

  it("when no type can be placed: one non-retryable error naming every type tried and RunPod's last detail", async () => {
    double.outOfCapacity(L4, A5000, A40);
    const err = await failure(provider().launch(SPEC));
    expect(attempts()).toEqual([L4, A5000, A40]);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect(err.message).toContain(`tried ${L4}: HTTP 400, ${A5000}: HTTP 400, ${A40}: HTTP 400`);
    expect(err.message).toContain("no longer any instances available");
    expect(err.message).toContain(A40);
    expect(double.pods()).toEqual([]);
  });

  it("402 (insufficient balance) stops at once: no other type can succeed", async () => {
    double.setInsufficientBalance(true);
    const first = await failure(provider().launch(SPEC));
    expect(attempts()).toEqual([L4]);
    expect(first).toMatchObject({ retryable: false, status: 402 });
    expect(first.message).toContain("insufficient balance");
    // After a type that could not be placed: the 402 still ends it, and says what came before.
    double.requests.length = 0;
    double.outOfCapacity(L4);
    const second = await failure(provider().launch(SPEC));
    expect(attempts()).toEqual([L4, A5000]);
    expect(second).toMatchObject({ retryable: false, status: 402 });
    expect(second.message).toContain(`GPU type ${A5000}`);
    expect(second.message).toContain(`refused before: ${L4}: HTTP 400`);
  });

  it.each([
    [401, false],
    [404, false],
    [422, false],
    [429, true],
    [500, true],
    [503, true],
  ])("HTTP %i on a type stops at once (retryable: %s), after a type that could not be placed too", async (status, retryable) => {
    double.outOfCapacity(L4);
    double.next(1, { kind: "fail", status: 400, detail: "no capacity" });
    double.next(1, { kind: "fail", status, detail: "it says so" });
    const err = await failure(provider().launch(SPEC));
    expect(attempts()).toEqual([L4, A5000]);
    expect(err).toMatchObject({ retryable, status });
    expect(err.message).toContain("it says so");
  });

  it("a timeout or a network error stops at once too (the pod may exist): retryable, no second type tried", async () => {
    double.next(1, { kind: "hang" });
    const hung = await failure(provider({ timeoutMs: 200 }).launch(SPEC));
    expect(hung).toMatchObject({ retryable: true, status: null });
    expect(hung.message).toContain(`GPU type ${L4}`);
    expect(attempts()).toEqual([L4]);
    let calls = 0;
    const failing: typeof fetch = async () => {
      calls++;
      throw new TypeError("fetch failed");
    };
    expect(await failure(provider({ fetch: failing }).launch(SPEC))).toMatchObject({ retryable: true, status: null });
    expect(calls).toBe(1);
  });

  it("a 422 from the double names the offending property (the contract refuses unknown fields)", async () => {
    // The double holds the provider to the documented contract: a v1-style field is refused by name.
    const res = await fetch(`${double.baseUrl}/pods`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "x", image: "img:1", gpu: { id: L4 }, imageName: "img:1" }),
    });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toEqual({
      title: "Unprocessable Entity",
      status: 422,
      detail: "Request validation failed.",
      errors: ["$: additional properties 'imageName' not allowed"],
    });
  });
});

describe("list", () => {
  it("returns only pods named with the prefix, mapping status, cost and proxy URL", async () => {
    const p = provider();
    const provisioning = await p.launch({ name: `${PREFIX}provisioning`, env: {} });
    const starting = await p.launch({ name: `${PREFIX}starting`, env: {} });
    const running = await p.launch({ name: `${PREFIX}running`, env: {} });
    const exited = await p.launch({ name: `${PREFIX}exited`, env: {} });
    const broken = await p.launch({ name: `${PREFIX}error`, env: {} });
    double.updatePod(starting.providerId, { status: "STARTING", dataCenterId: "US-KS-2" });
    double.updatePod(running.providerId, { status: "RUNNING", dataCenterId: "US-KS-2" });
    double.updatePod(exited.providerId, { status: "EXITED" });
    double.updatePod(broken.providerId, { status: "ERROR" });
    // Launched by an older template with another port; one still listed as TERMINATED without ports.
    const older = double.addPod({ name: `${PREFIX}older`, ports: ["9000/http", "22/tcp"], cost: 0.74 });
    const terminated = double.addPod({ name: `${PREFIX}terminated`, status: "TERMINATED", ports: [] });
    // Someone else's pods on the same account, one in a state the reference does not list; a
    // cluster member pod under our prefix is not listed by default at all.
    double.addPod({ name: "jupyter-alice" });
    double.addPod({ name: "csaas-test", status: "PAUSED" });
    double.addPod({ name: "" });
    double.addPod({ name: `${PREFIX}cluster-member`, cluster: { id: "cluster_abc123", rank: 0 } });
    double.requests.length = 0;

    const got = await p.list(PREFIX);
    expect(double.requests.map((r) => `${r.method} ${r.path} ${JSON.stringify(r.query)}`)).toEqual(["GET /v2/pods {}"]);
    const url = (id: string, port = 8188) => `https://${id}-${port}.proxy.runpod.net`;
    expect(got.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { providerId: broken.providerId, name: `${PREFIX}error`, state: "stopped", url: url(broken.providerId), costPerHour: 0.88 },
      { providerId: exited.providerId, name: `${PREFIX}exited`, state: "stopped", url: url(exited.providerId), costPerHour: 0 },
      { providerId: older, name: `${PREFIX}older`, state: "running", url: url(older, 9000), costPerHour: 0.74 },
      { providerId: provisioning.providerId, name: `${PREFIX}provisioning`, state: "starting", url: url(provisioning.providerId), costPerHour: 0.88 },
      { providerId: running.providerId, name: `${PREFIX}running`, state: "running", url: url(running.providerId), costPerHour: 0.88 },
      { providerId: starting.providerId, name: `${PREFIX}starting`, state: "starting", url: url(starting.providerId), costPerHour: 0.88 },
      { providerId: terminated, name: `${PREFIX}terminated`, state: "stopped", url: null, costPerHour: 0 },
    ]);
  });

  it("refuses an empty prefix (it would take in every pod on the account)", async () => {
    double.addPod({ name: "jupyter-alice" });
    const err = await failure(provider().list(""));
    expect(err.retryable).toBe(false);
    expect(double.requests).toHaveLength(0);
  });
});

describe("terminate", () => {
  it("DELETEs the pod", async () => {
    const p = provider();
    const { providerId } = await p.launch(SPEC);
    await p.terminate(providerId);
    expect(double.requests.at(-1)).toMatchObject({ method: "DELETE", path: `/v2/pods/${providerId}`, authorization: `Bearer ${KEY}` });
    expect(await p.list(PREFIX)).toEqual([]);
  });

  it("treats a pod that is gone (404) as done, in one call", async () => {
    await provider().terminate("rpgone00000001");
    expect(double.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["DELETE /v2/pods/rpgone00000001"]);
  });

  it("keeps a 409 (a cluster's pod) as a non-retryable error with RunPod's detail", async () => {
    const id = double.addPod({ name: `${PREFIX}member`, cluster: { id: "cluster_abc123", rank: 1 } });
    const err = await failure(provider().terminate(id));
    expect(err).toMatchObject({ retryable: false, status: 409 });
    expect(err.message).toContain("belongs to cluster cluster_abc123");
    expect(double.pods()).toHaveLength(1);
  });

  it("refuses an id that is not a RunPod pod id without calling RunPod", async () => {
    for (const id of ["../pods", "a.b", "x".repeat(65), ""]) {
      const err = await failure(provider().terminate(id));
      expect(err.retryable).toBe(false);
    }
    expect(double.requests).toHaveLength(0);
    // The reference's own example id has an underscore.
    await provider().terminate("pod_abc123");
    expect(double.requests.map((r) => r.path)).toEqual(["/v2/pods/pod_abc123"]);
  });
});

describe("failures", () => {
  const calls = {
    launch: (p: RunPodProvider) => p.launch(SPEC),
    list: (p: RunPodProvider) => p.list(PREFIX),
    terminate: (p: RunPodProvider) => p.terminate("rpsome00000001"),
  };

  it("a wrong key is a non-retryable 401 carrying RunPod's detail, on every call", async () => {
    for (const call of Object.values(calls)) {
      double.requests.length = 0;
      const err = await failure(call(provider({ apiKey: "rpa_wrong" })));
      expect(err).toMatchObject({ retryable: false, status: 401 });
      expect(err.message).toContain("Unauthorized: invalid bearer token");
      expect(double.requests).toHaveLength(1);
    }
  });

  it.each([429, 500, 503])("HTTP %i is retryable, on every call", async (status) => {
    for (const call of Object.values(calls)) {
      double.next(1, { kind: "fail", status, detail: "try later" });
      const err = await failure(call(provider()));
      expect(err).toMatchObject({ retryable: true, status });
      expect(err.message).toContain("try later");
    }
  });

  it("a 429 says how long RunPod asked to wait", async () => {
    double.next(1, { kind: "fail", status: 429, detail: "rate limit exceeded for the minute window", retryAfter: 12 });
    const err = await failure(provider().list(PREFIX));
    expect(err.message).toBe("RunPod list: HTTP 429 (retry after 12 s): Too Many Requests: rate limit exceeded for the minute window");
  });

  it.each([403, 405, 422])("HTTP %i is not retryable", async (status) => {
    for (const call of [calls.list, calls.terminate]) {
      double.next(1, { kind: "fail", status });
      expect(await failure(call(provider()))).toMatchObject({ retryable: false, status });
    }
  });

  it("renders a problem's title, detail and validation errors", async () => {
    const body = { title: "Unprocessable Entity", status: 422, detail: "Request validation failed.", errors: ["$.gpu.count: must be >= 1", "$: bad"] };
    double.next(1, { kind: "raw", status: 422, body: JSON.stringify(body), contentType: "application/problem+json" });
    const err = await failure(provider().launch(SPEC));
    expect(err.message).toBe(`RunPod launch (GPU type ${L4}): HTTP 422: Unprocessable Entity: Request validation failed. [$.gpu.count: must be >= 1; $: bad]`);
  });

  it("a call with no answer is a retryable timeout after timeoutMs, headers or body", async () => {
    double.next(1, { kind: "hang" });
    const hung = await failure(provider({ timeoutMs: 200 }).list(PREFIX));
    expect(hung).toMatchObject({ retryable: true, status: null });
    expect(hung.message).toContain("no answer within 200 ms");
    // Headers sent, then the body stops: the same deadline holds while reading it.
    double.next(1, { kind: "stall-body" });
    const stalled = await failure(provider({ timeoutMs: 200 }).list(PREFIX));
    expect(stalled).toMatchObject({ retryable: true, status: null });
    expect(stalled.message).toContain("no answer within 200 ms");
  });

  it("a slow answer within the timeout is just an answer", async () => {
    double.next(1, { kind: "slow", delayMs: 100 });
    await expect(provider({ timeoutMs: 10_000 }).list(PREFIX)).resolves.toEqual([]);
  });

  it("a network error is retryable", async () => {
    const failing: typeof fetch = async () => {
      throw new TypeError("fetch failed");
    };
    const err = await failure(provider({ fetch: failing }).list(PREFIX));
    expect(err).toMatchObject({ retryable: true, status: null });
    expect(err.message).toContain("fetch failed");
  });

  it("an answer of the wrong shape is a non-retryable error that says what is wrong", async () => {
    const pod = (over: Record<string, unknown>) => JSON.stringify({ pods: [{ id: "rpx00000000001", name: `${PREFIX}a`, status: "RUNNING", ...over }] });
    const cases: [keyof typeof calls, number, string, string][] = [
      // v1's bare array is not v2's wrapped list.
      ["list", 200, "[]", "(root): "],
      ["list", 200, '{"items":[]}', "pods: "],
      ["list", 200, pod({ status: "SLEEPING" }), "status"],
      ["list", 200, pod({ cost: "0.74" }), "cost"],
      ["launch", 201, JSON.stringify({ name: SPEC.name, status: "PROVISIONING" }), "id: "],
      ["launch", 201, JSON.stringify({ id: "evil.example/#", status: "PROVISIONING" }), "pod id"],
      ["launch", 201, "<html>ok</html>", "not JSON"],
      ["list", 200, `{"pods":[${" ".repeat(1 << 20)}]}`, "larger than"],
      ["launch", 302, "", "redirect"],
    ];
    for (const [call, status, body, says] of cases) {
      double.next(1, { kind: "raw", status, body });
      const err = await failure(calls[call](provider()));
      expect(err.retryable, body.slice(0, 40)).toBe(false);
      expect(err.message).toContain(says);
    }
  });

  it("an error's message is bounded, one line, and names RunPod's text when it is not a problem", async () => {
    double.next(1, { kind: "raw", status: 502, body: `<html>\n<h1>Bad gateway</h1>\n${"x".repeat(5000)}</html>`, contentType: "text/html" });
    const err = await failure(provider().list(PREFIX));
    expect(err).toMatchObject({ retryable: true, status: 502 });
    expect(err.message).toContain("Bad gateway");
    expect(err.message).not.toContain("\n");
    expect(err.message.length).toBeLessThanOrEqual(501);
  });

  it("never puts the API key in a message, even when RunPod's answer echoes it", async () => {
    const p = provider({ timeoutMs: 200, template: { ...TEMPLATE, gpu_type_ids: [L4, A5000] } });
    const errors: ProviderError[] = [];
    double.next(1, { kind: "fail", status: 401, detail: `key ${KEY} is not valid` });
    errors.push(await failure(p.list(PREFIX)));
    double.next(1, { kind: "raw", status: 500, body: `Authorization: Bearer ${KEY}`, contentType: "text/plain" });
    errors.push(await failure(p.launch(SPEC)));
    // Cut at 500 characters after the key was taken out, so no piece of it is left either.
    double.next(1, { kind: "fail", status: 422, detail: `${"y".repeat(420)}${KEY}` });
    errors.push(await failure(p.launch(SPEC)));
    // Through the fallback: both details held, the last one in the final message.
    double.next(2, { kind: "fail", status: 400, detail: `no capacity for ${KEY}` });
    errors.push(await failure(p.launch(SPEC)));
    double.next(1, { kind: "hang" });
    errors.push(await failure(p.terminate("rpsome00000001")));
    double.next(1, { kind: "raw", status: 200, body: "[1]" });
    errors.push(await failure(p.list(PREFIX)));
    const keyless = new RunPodProvider({
      apiKey: KEY,
      template: TEMPLATE,
      baseUrl: double.baseUrl,
      fetch: async () => Promise.reject(new TypeError(`fetch failed for ${KEY}`)),
    });
    errors.push(await failure(keyless.list(PREFIX)));
    for (const err of errors) {
      expect(`${err.message} ${String(err)} ${JSON.stringify(err)}`).not.toContain(KEY);
      // Nor a piece of it that a length cut could leave behind.
      expect(err.message).not.toContain(KEY.slice(0, 12));
    }
    expect(errors[3]!.message).toContain("no capacity for [redacted]");
  });
});

describe("settings", () => {
  it("runPodTemplateSchema fills defaults and refuses what RunPod could not use", () => {
    expect(runPodTemplateSchema.parse({ image: "img:1", gpu_type_ids: [L4] })).toEqual({
      image: "img:1",
      gpu_type_ids: [L4],
      gpu_count: 1,
      cloud_type: "SECURE",
      port: 8080,
      env: {},
    });
    const base = { image: "img:1", gpu_type_ids: [L4] };
    for (const ok of [
      { ...base, volume_gb: 0 },
      { ...base, volume_gb: 10, volume_mount_path: "/w" },
      { ...base, gpu_type_ids: [L4, A5000] },
    ]) {
      expect(runPodTemplateSchema.safeParse(ok).success, JSON.stringify(ok)).toBe(true);
    }
    const bad = [
      {},
      { ...base, gpu_type_ids: [] },
      { ...base, gpu_type_ids: [L4, L4] },
      { ...base, gpu_count: 0 },
      { ...base, cloud_type: "ON_PREM" },
      { ...base, port: 70000 },
      { ...base, env: { "NOT A NAME": "x" } },
      { ...base, volume_gb: 10, volume_mount_path: "relative" },
      // PersistentMount.size has a 10 GB floor; a path with no volume would be dropped silently.
      { ...base, volume_gb: 9 },
      { ...base, volume_mount_path: "/workspace" },
      { ...base, volume_gb: 0, volume_mount_path: "/workspace" },
      { ...base, gpu_types: [L4] },
    ];
    for (const t of bad) expect(runPodTemplateSchema.safeParse(t).success, JSON.stringify(t)).toBe(false);
  });

  it("talks to https://api.runpod.io/v2 by default", async () => {
    const seen: string[] = [];
    const fake: typeof fetch = async (input) => {
      seen.push(String(input));
      return new Response(JSON.stringify({ pods: [] }), { status: 200, headers: { "content-type": "application/json" } });
    };
    expect(RUNPOD_API_V2).toBe("https://api.runpod.io/v2");
    await new RunPodProvider({ apiKey: KEY, template: TEMPLATE, fetch: fake }).list(PREFIX);
    expect(seen).toEqual(["https://api.runpod.io/v2/pods"]);
  });

  it("sends the key only over https, or plain http to loopback", () => {
    expect(() => provider({ baseUrl: "http://api.runpod.io/v2" })).toThrow("https");
    expect(() => provider({ baseUrl: "https://api.runpod.io/v2/" })).not.toThrow();
    expect(() => provider({ apiKey: "" })).toThrow("API key");
  });
});
