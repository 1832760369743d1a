// Helpers for webhook tests inside workerd: the loopback receiver (started by global-setup), jobs
// with a webhook, the delivery log, and bounded waits on it.
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import type { Env } from "../../src/env.ts";
import { receiverAt } from "./webhook-receiver-client.ts";
import { call, json, type TestTenant, userHeaders, WORKFLOW } from "./worker-helpers.ts";

export const receiver = receiverAt(`http://127.0.0.1:${inject("webhookReceiverPort")}`);

/** The Worker's env with the bindings the test env type does not list. */
export const workerEnv = env as unknown as Env;

export type Json = Record<string, any>;

export async function submitWithWebhook(t: TestTenant, user: string, webhook: { url: string; events?: string[] }): Promise<Json> {
  const res = await call("/v1/jobs", json({ workflow: WORKFLOW, webhook }, userHeaders(t.key, user)));
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

export async function cancelJob(t: TestTenant, user: string, id: string): Promise<Json> {
  const res = await call(`/v1/jobs/${id}`, { method: "DELETE", headers: userHeaders(t.key, user) });
  if (res.status !== 200) throw new Error(`cancel: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

export async function getJob(t: TestTenant, user: string, id: string): Promise<Json> {
  return (await (await call(`/v1/jobs/${id}`, { headers: userHeaders(t.key, user) })).json()) as Json;
}

export function deliveriesCall(t: TestTenant, user: string, id: string): Promise<Response> {
  return call(`/v1/jobs/${id}/webhook-deliveries`, { headers: userHeaders(t.key, user) });
}

export async function deliveries(t: TestTenant, user: string, id: string): Promise<Json> {
  const res = await deliveriesCall(t, user, id);
  if (res.status !== 200) throw new Error(`deliveries: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

/** Polls the delivery log (bounded) until `done` holds; returns the last answer either way. */
export async function waitForLog(t: TestTenant, user: string, id: string, done: (log: Json) => boolean, timeoutMs = 10_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await deliveries(t, user, id);
    if (done(log) || Date.now() > deadline) return log;
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function redeliver(t: TestTenant, user: string, id: string): Promise<Response> {
  return call(`/v1/jobs/${id}/webhook/redeliver`, { method: "POST", headers: userHeaders(t.key, user) });
}
