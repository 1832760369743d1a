// Autoscaling with the local provider (issue 18), end to end: wrangler dev, the local provider
// daemon launching real emulator + gpu-backend processes that bootstrap with a one-time token.
// From zero hosts a submit boots one, the job runs, and the idle host is terminated after the
// window; a burst launches up to max_hosts and no more; a host that never becomes ready is
// terminated and replaced; an instance killed behind the autoscaler's back is noticed and its job
// requeued. Each case has its own pool, so they do not see each other's hosts.
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalProviderDaemon, startLocalProvider } from "../../scripts/lib/local-provider.ts";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { Client, SLOW, type Tenant } from "./support/client.ts";

let stack: LocalStack;
let daemon: LocalProviderDaemon;
let api: Client;
let tenant: Tenant;

const UNTIL = 90_000;

beforeAll(async () => {
  daemon = await startLocalProvider({ backendEnv: { HEARTBEAT_INTERVAL_MS: "500" } });
  stack = await startLocalStack({
    hosts: 0,
    vars: { LOCAL_PROVIDER_URL: daemon.url, LOCAL_PROVIDER_TOKEN: daemon.token, AUTOSCALE_TICK_SECONDS: "1", HOST_HEARTBEAT_TIMEOUT_SECONDS: "20" },
  });
  api = new Client(stack);
  tenant = await api.tenant();
});
afterAll(async () => {
  await stack?.stop();
  await daemon?.stop();
});

interface InstanceView {
  host_id: string;
  state: string;
  terminate_reason: string | null;
  launched_at: string;
  ready_at: string | null;
  terminated_at: string | null;
  billed_seconds: number | null;
}

async function autoscaledPool(name: string, scaling: Record<string, unknown>): Promise<void> {
  const res = await stack.admin("/v1/admin/pools", {
    method: "POST",
    body: JSON.stringify({ name, autoscaling: { provider: "local", edge_url: stack.edge.url, ...scaling } }),
  });
  if (res.status !== 201) throw new Error(`pool ${name}: ${res.status} ${await res.text()}`);
}

async function instances(pool: string): Promise<InstanceView[]> {
  const res = await stack.admin(`/v1/admin/pools/${pool}/instances`);
  if (res.status !== 200) throw new Error(`instances: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: InstanceView[] }).data;
}

/** Polls until `done` holds (bounded; the bound only ends a broken test). */
async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = UNTIL): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await read();
  }
  return last;
}

const live = (list: InstanceView[]) => list.filter((i) => i.terminated_at === null);

describe("autoscaling with the local provider", () => {
  it("boots a host for a job from zero, runs it, and terminates the idle host after the window", async ({ expect }) => {
    await autoscaledPool("auto-zero", { max_hosts: 2, scaledown_window_seconds: 2 });
    expect(await instances("auto-zero")).toEqual([]);
    const job = await api.submitOk(tenant, "u", SLOW(5, 20), { pool: "auto-zero" });
    const done = await api.waitForEnd(tenant, "u", job.id, UNTIL);
    expect(done.status).toBe("succeeded");
    const ended = await until(
      "the idle host terminated",
      () => instances("auto-zero"),
      (l) => l.length === 1 && l[0]!.terminated_at !== null,
    );
    expect(ended[0]).toMatchObject({ state: "terminated", terminate_reason: "drained" });
    expect(ended[0]!.ready_at).not.toBeNull();
    expect(ended[0]!.billed_seconds).toBeGreaterThan(0);
    // Its host is gone from the pool and from the provider.
    const hosts = (await (await stack.admin("/v1/admin/hosts")).json()) as { data: { id: string }[] };
    expect(hosts.data.map((h) => h.id)).not.toContain(ended[0]!.host_id);
    expect(daemon.instances().map((i) => i.name)).not.toContain(`comfyui-saas-${ended[0]!.host_id}`);
  });

  it("launches up to max_hosts for a burst and no more", async ({ expect }) => {
    await autoscaledPool("auto-burst", { max_hosts: 2, scaledown_window_seconds: 600 });
    // Four jobs at once (within the user's five active jobs), twice the pool's max_hosts.
    const jobs = await Promise.all(Array.from({ length: 4 }, () => api.submitOk(tenant, "burst", SLOW(10, 50), { pool: "auto-burst" })));
    for (const j of jobs) expect((await api.waitForEnd(tenant, "burst", j.id, UNTIL)).status).toBe("succeeded");
    const list = await instances("auto-burst");
    expect(list).toHaveLength(2);
    expect(live(list)).toHaveLength(2);
    // Turning autoscaling off winds the pool down.
    expect((await stack.admin("/v1/admin/pools/auto-burst", { method: "PATCH", body: JSON.stringify({ autoscaling: null }) })).status).toBe(200);
    await until(
      "wound down",
      () => instances("auto-burst"),
      (l) => live(l).length === 0,
    );
  });

  it("terminates a host that never becomes ready and launches a replacement", async ({ expect }) => {
    daemon.stickNextBoots(1);
    await autoscaledPool("auto-stuck", { max_hosts: 1, boot_timeout_seconds: 30, scaledown_window_seconds: 600 });
    const job = await api.submitOk(tenant, "stuck", SLOW(5, 20), { pool: "auto-stuck" });
    expect((await api.waitForEnd(tenant, "stuck", job.id, 120_000)).status).toBe("succeeded");
    // The scaler records readiness on its next tick after the host's first heartbeat.
    const list = await until(
      "the replacement recorded ready",
      () => instances("auto-stuck"),
      (l) => live(l)[0]?.ready_at != null,
    );
    expect(list).toHaveLength(2);
    const first = list.find((i) => i.terminated_at !== null)!;
    expect(first).toMatchObject({ terminate_reason: "boot-timeout", ready_at: null });
    expect(live(list)).toHaveLength(1);
  }, 180_000);

  it("backs off after refused launches, then launches once the provider takes one", async ({ expect }) => {
    daemon.failNextLaunches(2);
    await autoscaledPool("auto-refused", { max_hosts: 1, scaledown_window_seconds: 600 });
    const job = await api.submitOk(tenant, "refused", SLOW(5, 20), { pool: "auto-refused" });
    expect((await api.waitForEnd(tenant, "refused", job.id, 120_000)).status).toBe("succeeded");
    const list = await instances("auto-refused");
    const failed = list.filter((i) => i.terminate_reason === "launch-failed").sort((a, b) => Date.parse(a.launched_at) - Date.parse(b.launched_at));
    expect(failed).toHaveLength(2);
    expect(live(list)).toHaveLength(1);
    // The second try waited out the first back-off (5 s), the launch after it the second (10 s):
    // one tick apart would be a burst.
    const ok = live(list)[0]!;
    expect(Date.parse(failed[1]!.launched_at) - Date.parse(failed[0]!.launched_at)).toBeGreaterThanOrEqual(5_000);
    expect(Date.parse(ok.launched_at) - Date.parse(failed[1]!.launched_at)).toBeGreaterThanOrEqual(10_000);
    const view = (await (await stack.admin("/v1/admin/pools/auto-refused/instances")).json()) as {
      scaler: { consecutive_failures: number; last_error: string | null };
    };
    expect(view.scaler).toMatchObject({ consecutive_failures: 0, last_error: null });
  }, 180_000);

  it("notices an instance killed outside it and requeues its job", async ({ expect }) => {
    await autoscaledPool("auto-vanish", { max_hosts: 1, scaledown_window_seconds: 600 });
    const job = await api.submitOk(tenant, "vanish", SLOW(400, 50), { pool: "auto-vanish" });
    const running = await api.waitFor(tenant, "vanish", job.id, (j) => j.status === "running", UNTIL);
    expect(running.status).toBe("running");
    const [first] = live(await instances("auto-vanish"));
    const victim = daemon.instances().find((i) => i.name === `comfyui-saas-${first!.host_id}`);
    expect(victim).toBeDefined();
    await daemon.vanish(victim!.id);
    const after = await until(
      "the vanished instance noticed",
      () => instances("auto-vanish"),
      (l) => l.some((i) => i.terminate_reason === "vanished"),
    );
    expect(after.find((i) => i.host_id === first!.host_id)).toMatchObject({ state: "terminated", terminate_reason: "vanished" });
    // The job went back to the queue and runs again on a replacement.
    const again = await api.waitFor(tenant, "vanish", job.id, (j) => j.attempt >= 2 && j.status === "running", UNTIL);
    expect(again.attempt).toBeGreaterThanOrEqual(2);
    expect((await api.cancel(tenant, "vanish", job.id)).status).toBe(200);
  }, 180_000);
});
