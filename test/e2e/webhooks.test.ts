// Webhook delivery end to end: a real `wrangler dev` (Worker, D1, Durable Object alarms) sending to
// a real receiver on 127.0.0.1 that verifies every delivery with the `standardwebhooks` package.
// Retry timing comes from config (1 s retries, 3 s timeout), so nothing here waits for minutes.
// Jobs end by cancellation while queued (no GPU host needed); each test has its own tenant.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { newEdgeSigningKey } from "../../scripts/lib/edge-key.ts";
import { startTcpForwarder, type TcpForwarder } from "../../scripts/lib/tcp-forwarder.ts";
import { freePort, ROOT, startWranglerDev, type WranglerDev } from "../../scripts/lib/wrangler-dev.ts";
import { startWebhookReceiver } from "../support/node/webhook-receiver.ts";
import { type Behaviour, type ReceiverEndpoint, receiverAt } from "../support/webhook-receiver-client.ts";

const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef0123456789";
const TIMEOUT_SECONDS = 3;
const RETRIES = "1s,1s,1s";
const WORKFLOW = {
  "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "e2e" } },
};

type Json = Record<string, any>;

let dev: WranglerDev;
let stopReceiver: () => Promise<void>;
let receiver: ReturnType<typeof receiverAt>;
/** The allow-listed address in front of the README's example receiver (its own process, started later). */
let readmeFront: TcpForwarder;

beforeAll(async () => {
  const r = await startWebhookReceiver();
  stopReceiver = r.close;
  receiver = receiverAt(`http://127.0.0.1:${r.port}`);
  readmeFront = await startTcpForwarder();
  dev = await startWranglerDev({
    ENVIRONMENT: "development",
    LOG_LEVEL: "error",
    ADMIN_TOKEN,
    DATA_ENCRYPTION_KEYS: "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    OUTPUT_URL_KEYS: "u1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    EDGE_SIGNING_KEY: newEdgeSigningKey("edge-e2e"),
    OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${r.port},127.0.0.1:${readmeFront.port}`,
    WEBHOOK_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS),
    WEBHOOK_RETRY_SCHEDULE: RETRIES,
  });
});

afterAll(async () => {
  await dev?.stop();
  await stopReceiver?.();
  await readmeFront?.close();
});

async function api(path: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${init.key ?? ADMIN_TOKEN}`);
  if (init.key) headers.set("X-User-ID", "alice");
  if (init.body) headers.set("Content-Type", "application/json");
  return fetch(`${dev.url}${path}`, { ...init, headers });
}

interface Tenant {
  key: string;
  secret: string;
}

async function tenant(): Promise<Tenant> {
  const t = (await (await api("/v1/admin/tenants", { method: "POST", body: JSON.stringify({ name: "webhooks-e2e" }) })).json()) as Json;
  const k = (await (await api(`/v1/admin/tenants/${t.id}/keys`, { method: "POST" })).json()) as Json;
  return { key: k.key, secret: t.webhook_secret };
}

/** A job that ends (cancelled while queued) with a webhook to `ep`: one job.cancelled event. */
async function cancelledJob(t: Tenant, ep: Pick<ReceiverEndpoint, "url">): Promise<string> {
  const res = await api("/v1/jobs", { method: "POST", key: t.key, body: JSON.stringify({ workflow: WORKFLOW, webhook: { url: ep.url } }) });
  if (res.status !== 202) throw new Error(`submit ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as Json;
  const cancel = await api(`/v1/jobs/${id}`, { method: "DELETE", key: t.key });
  if (cancel.status !== 200) throw new Error(`cancel ${cancel.status}`);
  return id as string;
}

async function log(t: Tenant, id: string): Promise<Json> {
  return (await (await api(`/v1/jobs/${id}/webhook-deliveries`, { key: t.key })).json()) as Json;
}

/** Polls the delivery log (bounded) until the event is no longer pending. */
async function settled(t: Tenant, id: string, timeoutMs = 15_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = await log(t, id);
    if ((l.events[0] && l.events[0].state !== "pending") || Date.now() > deadline) return l;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function setup(script: Behaviour[], otherwise?: Behaviour) {
  const t = await tenant();
  const ep = await receiver.endpoint([t.secret], script, otherwise);
  return { t, ep };
}

describe("webhook delivery end to end", () => {
  it("retries after a 500 with the same webhook-id, each attempt verifying with standardwebhooks", async ({ expect }) => {
    const { t, ep } = await setup([{ status: 500 }]);
    const id = await cancelledJob(t, ep);
    const final = await settled(t, id);
    expect(final.webhook_status).toBe("delivered");
    const got = await ep.log();
    expect(got.map((g) => g.answered)).toEqual([500, 204]);
    expect(got.every((g) => g.verifiedWith[0] === true)).toBe(true);
    expect(got[1]!.id).toBe(got[0]!.id);
    // The same event: type, time and job (only the job's own webhook_status moved on).
    const [first, second] = got.map((g) => JSON.parse(g.body) as Json);
    expect({ ...second!.data.job, webhook_status: null }).toEqual({ ...first!.data.job, webhook_status: null });
    expect([second!.type, second!.timestamp]).toEqual([first!.type, first!.timestamp]);
    expect(final.data.map((a: Json) => [a.status_code, a.outcome])).toEqual([
      [204, "delivered"],
      [500, "retry"],
    ]);
    expect(final.events[0]).toMatchObject({ state: "delivered", attempts: 2 });
  });

  it("retries after a timeout, and a slow receiver does not hold up another job's webhook", async ({ expect }) => {
    const slow = await setup([{ hold: true }]);
    const fast = await setup([]);
    const slowJob = await cancelledJob(slow.t, slow.ep);
    const [held] = await slow.ep.waitFor(1);
    expect(held).toBeDefined();
    // While the slow receiver still holds its request, another job is submitted, ends, and is delivered.
    const fastJob = await cancelledJob(fast.t, fast.ep);
    const [quick] = await fast.ep.waitFor(1);
    expect(quick!.answered).toBe(204);
    expect(quick!.openElsewhere).toContain(slow.ep.name);
    expect((await settled(fast.t, fastJob)).webhook_status).toBe("delivered");

    // The slow attempt times out (the sender hangs up) and the retry is delivered.
    const final = await settled(slow.t, slowJob);
    expect(final.webhook_status).toBe("delivered");
    expect(final.data.map((a: Json) => [a.status_code, a.error?.code ?? null, a.outcome])).toEqual([
      [204, null, "delivered"],
      [null, "timeout", "retry"],
    ]);
    const got = await slow.ep.log();
    expect(got.map((g) => g.answered)).toEqual([0, 204]);
    expect(new Set(got.map((g) => g.id)).size).toBe(1);
  });

  it("does not follow a 302, retries it as a failure, and gives up after the schedule", async ({ expect }) => {
    const target = await receiver.endpoint([]);
    const { t, ep } = await setup([], { status: 302, headers: { location: target.url } });
    const id = await cancelledJob(t, ep);
    const final = await settled(t, id);
    expect(final.webhook_status).toBe("failed");
    expect(final.events[0]).toMatchObject({ state: "failed", attempts: 4, next_attempt_at: null });
    expect(final.data).toHaveLength(4);
    for (const a of final.data) expect(a).toMatchObject({ status_code: 302, error: { code: "redirect" } });
    expect(final.data.map((a: Json) => a.outcome)).toEqual(["failed", "retry", "retry", "retry"]);
    expect(await ep.log()).toHaveLength(4);
    expect(await target.log()).toEqual([]);
  });

  it("stops after a 410 Gone", async ({ expect }) => {
    const { t, ep } = await setup([{ status: 410 }]);
    const id = await cancelledJob(t, ep);
    const final = await settled(t, id);
    expect(final.webhook_status).toBe("gone");
    expect(final.events[0]).toMatchObject({ state: "gone", attempts: 1, next_attempt_at: null });
    expect(final.data).toEqual([expect.objectContaining({ status_code: 410, outcome: "gone" })]);
    expect(await ep.log()).toHaveLength(1);
  });

  it("the README's example receiver verifies a real delivery and rejects a forged one", async ({ expect }) => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const code = /<!-- receiver:start[^>]*-->\s*```js\n([\s\S]*?)```\s*<!-- receiver:end -->/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const t = await tenant();
    // Inside the repository so `standardwebhooks` resolves from its node_modules.
    mkdirSync(join(ROOT, ".wrangler"), { recursive: true });
    const dir = mkdtempSync(join(ROOT, ".wrangler", "readme-receiver-"));
    writeFileSync(join(dir, "receiver.mjs"), code!);
    const url = `http://127.0.0.1:${readmeFront.port}/`;
    const forged = async () => {
      const res = await fetch(url, {
        method: "POST",
        body: "{}",
        headers: { "webhook-id": "msg_x", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1,AAAA" },
      });
      return res.status;
    };
    // The receiver listens on PORT, picked just before it starts; if someone took that port in
    // between, it exits with EADDRINUSE and is started again on another.
    let child: ReturnType<typeof spawn> | undefined;
    let out = "";
    let status = 0;
    try {
      for (let attempt = 1; attempt <= 3 && status === 0; attempt++) {
        const port = await freePort();
        readmeFront.target(port);
        out = "";
        const started = spawn(process.execPath, [join(dir, "receiver.mjs")], {
          env: { ...process.env, WEBHOOK_SECRET: t.secret, PORT: String(port) },
          stdio: ["ignore", "pipe", "pipe"],
        });
        child = started;
        started.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        started.stderr!.on("data", (d: Buffer) => (out += d.toString()));
        for (let i = 0; i < 200 && status === 0 && started.exitCode === null; i++) {
          status = await forged().catch(() => 0);
          if (status === 0) await new Promise((r) => setTimeout(r, 50));
        }
        if (status === 0 && !/EADDRINUSE/.test(out)) break;
      }
      expect(status, out).toBe(401);
      const id = await cancelledJob(t, { url });
      const deadline = Date.now() + 10_000;
      while (!out.includes(`job.cancelled ${id} cancelled`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain(`job.cancelled ${id} cancelled`);
      expect((await settled(t, id)).webhook_status).toBe("delivered");
    } finally {
      child?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an unsafe webhook URL at submit", async ({ expect }) => {
    const t = await tenant();
    const res = await api("/v1/jobs", {
      method: "POST",
      key: t.key,
      body: JSON.stringify({ workflow: WORKFLOW, webhook: { url: "https://169.254.169.254/latest" } }),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ type: "https://comfyui-saas.dev/problems/unsafe-webhook-url", reason: "private-address" });
  });
});
