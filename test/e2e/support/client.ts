// A small API client for end-to-end tests against a running stack: tenants, keys, submits and
// bounded polling, all through the public and admin HTTP APIs.
import type { LocalStack } from "../../../scripts/lib/local-stack.ts";

export interface Tenant {
  id: string;
  key: string;
}

export type Job = Record<string, any> & { id: string; status: string };

export const EMPTY_TO_SAVE = (w = 64, h = 64, color = 0, prefix = "e2e") => ({
  "1": { class_type: "EmptyImage", inputs: { width: w, height: h, batch_size: 1, color } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: prefix } },
});

/**
 * A sampler that takes steps × stepMs. The seed differs per call by default: ComfyUI (and the
 * emulator) cache node outputs by their inputs, so an identical sampler would not run again.
 */
export const SLOW = (steps = 100, stepMs = 100, seed = Math.floor(Math.random() * 2 ** 40)) => ({
  "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  "2": { class_type: "KSamplerEmu", inputs: { image: ["1", 0], seed, steps, denoise: 1.0, step_ms: stepMs } },
  "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "slow" } },
});

export class Client {
  readonly stack: LocalStack;

  constructor(stack: LocalStack) {
    this.stack = stack;
  }

  async tenant(limits: Record<string, number> = {}): Promise<Tenant> {
    const t = (await (await this.stack.admin("/v1/admin/tenants", { method: "POST", body: JSON.stringify({ name: "e2e", limits }) })).json()) as { id: string };
    const k = (await (await this.stack.admin(`/v1/admin/tenants/${t.id}/keys`, { method: "POST" })).json()) as { key: string };
    return { id: t.id, key: k.key };
  }

  headers(t: Tenant, user: string): Record<string, string> {
    return { Authorization: `Bearer ${t.key}`, "X-User-ID": user, "Content-Type": "application/json" };
  }

  async submit(t: Tenant, user: string, workflow: unknown, extra: Record<string, unknown> = {}): Promise<Response> {
    return fetch(`${this.stack.edge.url}/v1/jobs`, { method: "POST", headers: this.headers(t, user), body: JSON.stringify({ workflow, ...extra }) });
  }

  async submitOk(t: Tenant, user: string, workflow: unknown, extra: Record<string, unknown> = {}): Promise<Job> {
    const res = await this.submit(t, user, workflow, extra);
    if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
    return (await res.json()) as Job;
  }

  async job(t: Tenant, user: string, id: string): Promise<Job> {
    return (await (await fetch(`${this.stack.edge.url}/v1/jobs/${id}`, { headers: this.headers(t, user) })).json()) as Job;
  }

  async cancel(t: Tenant, user: string, id: string): Promise<Response> {
    return fetch(`${this.stack.edge.url}/v1/jobs/${id}`, { method: "DELETE", headers: this.headers(t, user) });
  }

  /** Polls until `done(job)` or the timeout; returns the last state seen. */
  async waitFor(t: Tenant, user: string, id: string, done: (j: Job) => boolean, timeoutMs = 30_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.job(t, user, id);
    while (!done(last) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      last = await this.job(t, user, id);
    }
    return last;
  }

  waitForEnd(t: Tenant, user: string, id: string, timeoutMs = 30_000): Promise<Job> {
    return this.waitFor(t, user, id, (j) => !["queued", "running"].includes(j.status), timeoutMs);
  }

  /**
   * Waits until every listed job of (tenant, user) has ended, polling the list endpoint (one
   * request per round, not one per job, so the waiting does not load the system it measures).
   */
  async waitForAllEnded(t: Tenant, user: string, ids: string[], timeoutMs = 90_000): Promise<Map<string, Job>> {
    const want = new Set(ids);
    const deadline = Date.now() + timeoutMs;
    let seen = new Map<string, Job>();
    for (;;) {
      seen = new Map();
      let cursor: string | null = null;
      do {
        const page = (await (
          await fetch(`${this.stack.edge.url}/v1/jobs?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { headers: this.headers(t, user) })
        ).json()) as {
          data: Job[];
          next_cursor: string | null;
        };
        for (const j of page.data) if (want.has(j.id)) seen.set(j.id, j);
        cursor = page.next_cursor;
      } while (cursor);
      const ended = [...seen.values()].filter((j) => !["queued", "running"].includes(j.status)).length;
      if (ended === want.size || Date.now() > deadline) return seen;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async usage(t: Tenant, user: string): Promise<Record<string, number>> {
    return (await (await fetch(`${this.stack.edge.url}/v1/usage`, { headers: this.headers(t, user) })).json()) as Record<string, number>;
  }
}

export function pngSize(bytes: Uint8Array): [number, number] {
  const b = Buffer.from(bytes);
  if (!b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error("not a PNG");
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}
