// A GPU host as far as the edge can tell, for benchmarks that need live hosts but no ComfyUI:
// registered through the admin API, heartbeating and publishing its catalog signed as gpu-backend
// does (src/protocol), and serving the host API on loopback. Two modes:
// - "hold" (default): a dispatch is accepted (202) and held; a cancel is confirmed with a signed
//   `job.cancelled`, so a bench can end each job it submits and the edge's state stays the same
//   from one submit to the next.
// - "instant": a dispatch is accepted (202) and at once reported `job.started` and `job.succeeded`
//   with no outputs, so the host is never what a benchmark of the edge waits on.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { catalogHash, type HostCatalog, type ModelInventory } from "../../src/protocol/catalog.ts";
import { signHostPayload } from "../../src/protocol/host-signing.ts";
import type { DispatchRef, DispatchRequest, Heartbeat, JobEvent } from "../../src/protocol/messages.ts";
import { edgePaths, hostPaths } from "../../src/protocol/paths.ts";
import { BENCH_ADMIN_TOKEN } from "./api.ts";

export interface BenchHost {
  id: string;
  pool: string;
  /** Publishes `{object_info, models}`; later heartbeats carry its hash. */
  publishCatalog(content: Pick<HostCatalog, "object_info" | "models">): Promise<void>;
  /** Heartbeats now (live, ComfyUI ready, holding the jobs it was dispatched), then every `everyMs`. */
  keepAlive(everyMs: number): Promise<void>;
  /** Hold mode: resolves once the edge dispatched `jobId` here. */
  dispatched(jobId: string, timeoutMs?: number): Promise<void>;
  /** Hold mode: resolves once the edge applied this host's `job.cancelled` for `jobId`. */
  cancelled(jobId: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface BenchHostOptions {
  id: string;
  pool: string;
  slots: number;
  mode?: "hold" | "instant";
  /** Each dispatch as it arrives, at performance.now() (before it is answered). */
  onDispatch?: (d: DispatchRequest, atMs: number) => void;
  /** Instant mode: each job once its events were answered (`ok`: both applied, 200). */
  onEnded?: (ref: DispatchRef, atMs: number, ok: boolean) => void;
}

export async function startBenchHost(base: string, opts: BenchHostOptions): Promise<BenchHost> {
  const instant = opts.mode === "instant";
  const held = new Map<string, DispatchRef>();
  const seen = new Set<string>();
  const waiters = new Map<string, () => void>();
  const mark = (key: string) => {
    seen.add(key);
    waiters.get(key)?.();
    waiters.delete(key);
  };
  const until = (key: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (seen.delete(key)) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(key);
        reject(new Error(`${opts.id}: ${key} not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.set(key, () => {
        clearTimeout(timer);
        seen.delete(key);
        resolve();
      });
    });

  let secret = "";
  const postSigned = async (path: string, payload: unknown): Promise<Response> => {
    const text = JSON.stringify(payload);
    const headers = await signHostPayload([secret], text);
    return fetch(`${base}${path}`, { method: "POST", body: text, headers: { ...headers, "Content-Type": "application/json" } });
  };

  const confirmCancel = async (ref: DispatchRef) => {
    held.delete(ref.job_id); // once: the edge may send the cancel again after the dispatch is accepted
    const ev: JobEvent = { type: "job.cancelled", ...ref, host_id: opts.id, seq: 0, at: Date.now() };
    const res = await postSigned(edgePaths.events(opts.id), ev);
    await res.arrayBuffer();
    if (res.status === 200) mark(`cancelled:${ref.job_id}`);
    else console.error(`${opts.id}: job.cancelled for ${ref.job_id} answered ${res.status}`);
  };

  /** Instant jobs whose `job.succeeded` is on its way (the edge may have ended them already). */
  const ending = new Set<string>();
  /** Started and succeeded, in order (seq 0, 1); held until the end is answered, so heartbeats keep listing it. */
  const runInstantly = async (ref: DispatchRef) => {
    let ok = false;
    try {
      const started: JobEvent = { type: "job.started", ...ref, host_id: opts.id, seq: 0, at: Date.now(), prompt_id: "bench" };
      const s = await postSigned(edgePaths.events(opts.id), started);
      await s.arrayBuffer();
      if (s.status !== 200) throw new Error(`job.started answered ${s.status}`);
      ending.add(ref.job_id);
      const done: JobEvent = { type: "job.succeeded", ...ref, host_id: opts.id, seq: 1, at: Date.now(), outputs: [] };
      const r = await postSigned(edgePaths.events(opts.id), done);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`job.succeeded answered ${r.status}`);
      ok = true;
    } catch (err) {
      console.error(`${opts.id}: ${ref.job_id}: ${String(err)}`);
    } finally {
      held.delete(ref.job_id);
      ending.delete(ref.job_id);
      opts.onEnded?.(ref, performance.now(), ok);
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const reply = (status: number, json: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
      if (req.method === "POST" && req.url === hostPaths.dispatch) {
        const d = JSON.parse(body) as DispatchRequest;
        opts.onDispatch?.(d, performance.now());
        const ref = { job_id: d.job_id, attempt: d.attempt, lease_id: d.lease_id };
        held.set(d.job_id, ref);
        reply(202, { accepted: true, held: held.size });
        if (instant) void runInstantly(ref);
        else mark(`dispatched:${d.job_id}`);
        return;
      }
      const cancel = req.method === "POST" ? /^\/v1\/jobs\/([^/]+)\/cancel$/.exec(req.url ?? "") : null;
      if (cancel) {
        const ref = held.get(decodeURIComponent(cancel[1]!));
        reply(202, { cancelling: ref !== undefined });
        if (ref) void confirmCancel(ref);
        return;
      }
      reply(404, { detail: "not a host route" });
    });
  });
  // As gpu-backend: longer than the edge keeps a connection for reuse, so no dispatch is sent on a
  // socket Node is closing (workerd reports that as "Network connection lost" and requeues).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const admin = { Authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "Content-Type": "application/json" };
  const reg = await fetch(`${base}/v1/admin/hosts`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ id: opts.id, url, slots: opts.slots, pool: opts.pool }),
  });
  if (reg.status !== 201) {
    server.close();
    throw new Error(`host ${opts.id}: ${reg.status} ${await reg.text()}`);
  }
  secret = ((await reg.json()) as { secret: string }).secret;

  let catalog: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const heartbeat = async () => {
    const hb: Heartbeat = {
      type: "host.heartbeat",
      host_id: opts.id,
      sent_at: Date.now(),
      version: "bench",
      lock_hash: "0".repeat(64),
      capacity: opts.slots,
      free_slots: Math.max(0, opts.slots - held.size),
      draining: false,
      comfy: "ready",
      // At most the protocol's 64: only an instant host can hold more, with jobs whose end is on its
      // way (the edge may have ended them already), so those are the ones left out.
      jobs: [...held.values()]
        .sort((a, b) => Number(ending.has(a.job_id)) - Number(ending.has(b.job_id)))
        .slice(0, 64)
        .map((ref) => ({ ...ref, state: "running" as const })),
      ...(catalog ? { catalog_hash: catalog } : {}),
    };
    const res = await postSigned(edgePaths.heartbeat(opts.id), hb);
    if (res.status !== 200) throw new Error(`${opts.id} heartbeat: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };

  return {
    id: opts.id,
    pool: opts.pool,
    async publishCatalog(content: { object_info: HostCatalog["object_info"]; models: ModelInventory }) {
      const hash = await catalogHash(content);
      const msg: HostCatalog = { type: "host.catalog", host_id: opts.id, sent_at: Date.now(), hash, ...content };
      const res = await postSigned(edgePaths.catalog(opts.id), msg);
      if (res.status !== 200) throw new Error(`${opts.id} catalog: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      catalog = hash;
    },
    async keepAlive(everyMs: number) {
      await heartbeat();
      clearInterval(timer);
      // A heartbeat still on its way when the host stops may fail with the edge: not worth a line.
      timer = setInterval(() => heartbeat().catch((err: unknown) => stopped || console.error(`${opts.id} heartbeat: ${String(err)}`)), everyMs);
    },
    dispatched: (jobId, timeoutMs = 10_000) => until(`dispatched:${jobId}`, timeoutMs),
    cancelled: (jobId, timeoutMs = 10_000) => until(`cancelled:${jobId}`, timeoutMs),
    async stop() {
      stopped = true;
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
