// Plays a GPU host inside workerd tests: registers through the admin API and sends heartbeats
// and events signed exactly as gpu-backend does (src/protocol).
import { signHostPayload } from "../../src/protocol/host-signing.ts";
import type { Heartbeat, JobEvent } from "../../src/protocol/messages.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { adminCall, call, json } from "./worker-helpers.ts";

export interface TestHost {
  id: string;
  secret: string;
  jwks: { keys: Record<string, unknown>[] };
}

export async function registerHost(id = `gpu-${crypto.randomUUID().slice(0, 8)}`, slots = 1, url = "https://gpu.example.com"): Promise<TestHost> {
  const res = await adminCall("/v1/admin/hosts", json({ id, url, slots }));
  if (res.status !== 201) throw new Error(`host register: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { secret: string; edge_jwks: TestHost["jwks"] };
  return { id, secret: body.secret, jwks: body.edge_jwks };
}

export async function postSigned(host: TestHost, path: string, payload: unknown): Promise<Response> {
  const text = JSON.stringify(payload);
  const headers = await signHostPayload([host.secret], text);
  return call(path, { method: "POST", body: text, headers: { ...headers, "Content-Type": "application/json" } });
}

export function heartbeat(host: TestHost, over: Partial<Heartbeat> = {}): Promise<Response> {
  const hb: Heartbeat = {
    type: "host.heartbeat",
    host_id: host.id,
    sent_at: Date.now(),
    version: "test",
    lock_hash: "0".repeat(64),
    capacity: 2,
    free_slots: 2,
    draining: false,
    comfy: "ready",
    jobs: [],
    ...over,
  };
  return postSigned(host, edgePaths.heartbeat(host.id), hb);
}

export function sendEvent(host: TestHost, ev: JobEvent): Promise<Response> {
  return postSigned(host, edgePaths.events(host.id), ev);
}
