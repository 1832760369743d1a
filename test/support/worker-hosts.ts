// Plays a GPU host inside workerd tests: registers through the admin API and sends heartbeats
// and events signed exactly as gpu-backend does (src/protocol).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, inject } from "vitest";
import { catalogHash, type HostCatalog } from "../../src/protocol/catalog.ts";
import { sha256 as sha256Bytes, toHex } from "../../src/protocol/encoding.ts";
import { signHostManifest, signHostPayload } from "../../src/protocol/host-signing.ts";
import type { DispatchRef, DispatchRequest, Heartbeat, JobEvent, OutputDescriptor, RequestManifest } from "../../src/protocol/messages.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { adminCall, call, json } from "./worker-helpers.ts";

export interface TestHost {
  id: string;
  secret: string;
  jwks: { keys: Record<string, unknown>[] };
}

export async function registerHost(
  id = `gpu-${crypto.randomUUID().slice(0, 8)}`,
  slots = 1,
  url = "https://gpu.example.com",
  pool?: string,
): Promise<TestHost> {
  const res = await adminCall("/v1/admin/hosts", json({ id, url, slots, ...(pool ? { pool } : {}) }));
  if (res.status !== 201) throw new Error(`host register: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { secret: string; edge_jwks: TestHost["jwks"] };
  return { id, secret: body.secret, jwks: body.edge_jwks };
}

export async function postSigned(host: TestHost, path: string, payload: unknown): Promise<Response> {
  const text = JSON.stringify(payload);
  const headers = await signHostPayload([host.secret], text);
  return call(path, { method: "POST", body: text, headers: { ...headers, "Content-Type": "application/json" } });
}

/** A heartbeat from `host` as it would compose one: live, ComfyUI ready, no jobs (`over` changes any field). */
export function heartbeatMessage(host: TestHost, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
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
}

export function heartbeat(host: TestHost, over: Partial<Heartbeat> = {}): Promise<Response> {
  return postSigned(host, edgePaths.heartbeat(host.id), heartbeatMessage(host, over));
}

/** A catalog message from `host` with a correct hash (`over` changes any field after hashing). */
export async function catalogMessage(
  host: TestHost,
  content: Pick<HostCatalog, "object_info" | "models">,
  over: Partial<HostCatalog> = {},
): Promise<HostCatalog> {
  return { type: "host.catalog", host_id: host.id, sent_at: Date.now(), hash: await catalogHash(content), ...content, ...over };
}

export async function publishCatalog(host: TestHost, content: Pick<HostCatalog, "object_info" | "models">): Promise<Response> {
  return postSigned(host, edgePaths.catalog(host.id), await catalogMessage(host, content));
}

export function sendEvent(host: TestHost, ev: JobEvent): Promise<Response> {
  return postSigned(host, edgePaths.events(host.id), ev);
}

// ===== The fake host server (test/support/node/fake-host-server.ts) as seen from workerd tests

const fakeBase = () => `http://127.0.0.1:${inject("fakeHostPort")}`;

export async function registerFakeHost(slots = 1, id = `gpu-${crypto.randomUUID().slice(0, 8)}`, pool?: string): Promise<TestHost> {
  return registerHost(id, slots, `${fakeBase()}/h/${id}`, pool);
}

export interface ReceivedCall {
  method: string;
  path: string;
  authorization: string;
  body: string;
}

export async function received(host: TestHost): Promise<ReceivedCall[]> {
  return (await (await fetch(`${fakeBase()}/_log/${host.id}`)).json()) as ReceivedCall[];
}

export async function dispatchesTo(host: TestHost): Promise<DispatchRequest[]> {
  return (await received(host)).filter((r) => r.path === "/v1/jobs").map((r) => JSON.parse(r.body) as DispatchRequest);
}

/**
 * Waits until the fake host has received `count` dispatches (dispatch runs after the RPC answers);
 * the bound only ends a broken test, so it is generous for a loaded machine.
 */
export async function waitForDispatches(host: TestHost, count: number, timeoutMs = 20_000): Promise<DispatchRequest[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await dispatchesTo(host);
    if (got.length >= count || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits (bounded, generously) until the fake host has received a call to `path`; its JSON body. */
export async function waitForCall(host: TestHost, path: string, timeoutMs = 20_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await received(host)).find((c) => c.path === path);
    if (found) return JSON.parse(found.body) as unknown;
    if (Date.now() > deadline) throw new Error(`${host.id} received no call to ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Where the pool's Dispatcher has the job right now: still waiting in its queue, or assigned to a
 * host. Read inside the object (its storage is consistent between two of its calls), so "not
 * dispatched" is a fact, not the absence of a dispatch within some wait.
 */
export async function dispatcherPlace(jobId: string, pool = "default"): Promise<"queued" | "assigned" | "absent"> {
  return runInDurableObject(env.DISPATCHER.getByName(pool), (_instance, state) => {
    const sql = state.storage.sql;
    if (sql.exec("SELECT 1 FROM assignments WHERE job_id = ?", jobId).toArray().length > 0) return "assigned";
    if (sql.exec("SELECT 1 FROM queue WHERE job_id = ?", jobId).toArray().length > 0) return "queued";
    return "absent";
  });
}

export async function setDispatchStatus(host: TestHost, status: number): Promise<void> {
  await fetch(`${fakeBase()}/_status/${host.id}`, { method: "POST", body: JSON.stringify({ status }) });
}

/** A host's PUT of bytes under a signed manifest (output and preview uploads). */
async function signedPut(
  host: TestHost,
  path: string,
  ref: DispatchRef,
  bytes: Uint8Array,
  contentType: string,
  over: Partial<RequestManifest>,
): Promise<Response> {
  const sha256 = toHex(await sha256Bytes(bytes));
  const manifest = { ...ref, host_id: host.id, method: "PUT" as const, path, content_type: contentType, size: bytes.length, sha256, ...over };
  const headers = await signHostManifest([host.secret], manifest);
  return call(path, { method: "PUT", body: bytes, headers: { ...headers, "Content-Type": contentType } });
}

export function uploadOutput(
  host: TestHost,
  ref: DispatchRef,
  name: string,
  bytes: Uint8Array,
  contentType = "image/png",
  over: Partial<RequestManifest> = {},
): Promise<Response> {
  return signedPut(host, edgePaths.output(host.id, ref.job_id, name), ref, bytes, contentType, { node_id: "9", kind: "images", ...over });
}

/** The latest sampler preview of a running job, as gpu-backend uploads it. */
export function uploadPreview(host: TestHost, ref: DispatchRef, bytes: Uint8Array, contentType = "image/jpeg"): Promise<Response> {
  return signedPut(host, edgePaths.preview(host.id, ref.job_id), ref, bytes, contentType, { node_id: "3" });
}

export function outputDescriptor(name: string, bytes: Uint8Array, sha: string): OutputDescriptor {
  return { name, content_type: "image/png", size: bytes.length, sha256: sha, node_id: "9", kind: "images" };
}

let seqs = new Map<string, number>();
/** A job event for the dispatch `d`, with the next sequence number for that (job, attempt). */
export function eventFor<T extends JobEvent["type"]>(host: TestHost, d: DispatchRef, type: T, extra: Record<string, unknown> = {}): JobEvent {
  const key = `${d.job_id}:${d.attempt}`;
  const seq = (seqs.get(key) ?? -1) + 1;
  seqs.set(key, seq);
  return { type, job_id: d.job_id, attempt: d.attempt, lease_id: d.lease_id, host_id: host.id, seq, at: Date.now(), ...extra } as JobEvent;
}

export function resetSeqs(): void {
  seqs = new Map();
}

/**
 * For test files that play GPU hosts: event sequence numbers restart before each test, and the
 * test's hosts are removed after it, so the next test's jobs cannot land on them. `track` adopts
 * a host registered by hand; `liveHost` registers, tracks and heartbeats one.
 */
export function useTestHosts(): { track(host: TestHost): TestHost; liveHost(slots?: number): Promise<TestHost> } {
  const hosts: TestHost[] = [];
  beforeEach(() => resetSeqs());
  afterEach(async () => {
    for (const h of hosts.splice(0)) await adminCall(`/v1/admin/hosts/${h.id}`, { method: "DELETE" });
  });
  const track = (host: TestHost) => {
    hosts.push(host);
    return host;
  };
  return {
    track,
    async liveHost(slots = 1) {
      const host = track(await registerFakeHost(slots));
      const res = await heartbeat(host);
      if (res.status !== 200) throw new Error(`heartbeat ${res.status} ${await res.text()}`);
      return host;
    },
  };
}
