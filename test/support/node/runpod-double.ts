// RunPod's REST API v2, played by a Node HTTP server on 127.0.0.1 for the RunPod provider's tests
// (src/capacity/runpod.ts). Only the calls the provider makes, with the shapes RunPod documents
// (https://api.runpod.io/v2/openapi.json, "Runpod REST API" 2.0.0 as of Frontdoor v2.9.0):
// - POST /v2/pods: CreatePodRequest → 201 Pod (status PROVISIONING). The body is checked against
//   the documented schema, which refuses unknown properties (`unevaluatedProperties: false`): a
//   property or type the contract does not allow is a 422 whose `errors` lists each violation. The
//   handler rules are 400s: exactly one of gpu or cpu, at most one of mounts.persistent/network, no
//   persistent mount on a CPU pod, and (the double's own, stricter than the schema's plain string)
//   ports as "<port>/http|tcp". One GPU type per create, no fallback: a type marked out of capacity
//   is a 400 with only a human-readable detail (as documented: capacity has no code of its own), a
//   type whose pool is closed to the account is a 403, an account without balance gets 402.
// - GET /v2/pods → 200 {"pods": [Pod]}, cluster member pods only with includeClusterPods=true; no
//   pagination (none is documented).
// - DELETE /v2/pods/{id} → 204; 404 unknown; 409 a cluster member pod.
// Errors are RFC 9457 problems (application/problem+json: title, status, detail, errors?); a
// missing or wrong Bearer key is 401; an unknown path 404, a wrong method 405. Pods live in memory.
//
// Knobs for the next N API calls, used in order: fail with a status, hang (no answer until
// `close()`), stall after the headers, answer after a delay, or answer a given raw body. Every API
// request is recorded (method, path, query, Authorization header, parsed body). Tests are in the
// same process, so the knobs are plain methods, not control routes.
import type http from "node:http";
import { STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { createTextServer } from "./text-server.ts";

/** A pod as the double stores it; answered as the documented Pod (see `view`). */
export interface DoublePod {
  id: string;
  name: string;
  image: string;
  /** A PodStatus as documented; any string, so a test can seed an odd foreign pod. */
  status: string;
  /** USD per hour while it runs; answered as 0 once EXITED or TERMINATED, as documented. */
  cost: number;
  ports: string[];
  env: Record<string, string>;
  disk: number;
  mounts: { persistent?: { size: number; path: string }; network?: { volumeId: string; path: string }[] };
  gpu: { id: string; count: number } | null;
  cloud: "SECURE" | "COMMUNITY";
  dataCenterId: string | null;
  /** Cluster membership: such a pod is listed only on request and cannot be deleted here. */
  cluster: { id: string; rank: number | null } | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string;
  body: unknown;
}

export type Behaviour =
  | { kind: "fail"; status: number; detail?: string; retryAfter?: number }
  | { kind: "hang" }
  | { kind: "stall-body" }
  | { kind: "slow"; delayMs: number }
  | { kind: "raw"; status: number; body: string; contentType?: string };

export interface RunPodDouble {
  /** What the provider's `baseUrl` is set to: `http://127.0.0.1:<port>/v2`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Puts a pod on the account directly (someone else's, or one in a given state); returns its id. */
  addPod(fields: Partial<DoublePod> & { name: string }): string;
  updatePod(id: string, patch: Partial<DoublePod>): void;
  pods(): DoublePod[];
  /** Creates on these GPU types answer 400 "could not be placed" until `reset()`. */
  outOfCapacity(...gpuTypeIds: string[]): void;
  /** Creates on these GPU types answer 403 (the account cannot use that pool) until `reset()`. */
  forbidGpuTypes(...gpuTypeIds: string[]): void;
  /** Every create that could be placed answers 402 "insufficient balance" until `reset()`. */
  setInsufficientBalance(on: boolean): void;
  /** The next `n` API calls behave so, before auth and routing. */
  next(n: number, behaviour: Behaviour): void;
  /** Forgets pods, requests, capacity/balance settings and pending behaviours (between tests). */
  reset(): void;
  close(): Promise<void>;
}

// CreatePodRequest, all of it (so that a documented field the provider does not send is still
// accepted and anything else is not). `image` is required unless `templateId` is set.
const cudaVersion = z.string().regex(/^\d+\.\d+$/);
const createPodRequest = z.strictObject({
  name: z.string().min(1),
  image: z.string().optional(),
  args: z.string().optional(),
  disk: z.number().int().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  ports: z.array(z.string()).optional(),
  registry: z.string().nullable().optional(),
  cloud: z.enum(["SECURE", "COMMUNITY"]).optional(),
  cpu: z.strictObject({ id: z.string().min(1), vcpuCount: z.number().int().min(2) }).optional(),
  dataCenterIds: z.array(z.string()).optional(),
  globalNetworking: z.boolean().optional(),
  gpu: z
    .strictObject({
      id: z.string(),
      count: z.number().int().min(1).optional(),
      allowedCudaVersions: z.array(cudaVersion).optional(),
      minCudaVersion: cudaVersion.optional(),
    })
    .optional(),
  mounts: z
    .strictObject({
      persistent: z.strictObject({ size: z.number().int().min(10), path: z.string() }).optional(),
      network: z
        .array(z.strictObject({ volumeId: z.string(), path: z.string() }))
        .max(1)
        .optional(),
    })
    .optional(),
  startJupyter: z.boolean().optional(),
  startSsh: z.boolean().optional(),
  templateId: z.string().min(1).optional(),
});

const PRICE_PER_GPU = 0.44;
const PUBLIC_IP = "195.26.233.3";
const CREATED_AT = "2026-12-01T00:00:00Z";

function actionsFor(status: string): string[] {
  if (status === "RUNNING") return ["stop", "restart", "terminate"];
  if (status === "EXITED") return ["start", "terminate"];
  if (status === "TERMINATED") return [];
  return ["terminate"];
}

/** The documented Pod (every required field) for what the double stores. */
function view(p: DoublePod): Record<string, unknown> {
  const running = p.status === "RUNNING";
  const tcp = p.ports.filter((x) => x.endsWith("/tcp"));
  return {
    id: p.id,
    name: p.name,
    image: p.image,
    args: "",
    disk: p.disk,
    ports: p.ports,
    env: p.env,
    registry: null,
    status: p.status,
    actions: actionsFor(p.status),
    mounts: p.mounts,
    ...(p.gpu ? { gpu: p.gpu } : {}),
    cloud: p.cloud,
    dataCenterId: p.dataCenterId,
    cudaVersion: p.dataCenterId ? "12.8" : null,
    ssh: {
      proxy: p.dataCenterId ? { host: "ssh.runpod.io", port: 22, username: `${p.id}-64411eb2`, command: `ssh ${p.id}-64411eb2@ssh.runpod.io` } : null,
      direct: null,
    },
    ...(p.cluster ? { cluster: p.cluster } : {}),
    template: null,
    cost: p.status === "EXITED" || p.status === "TERMINATED" ? 0 : p.cost,
    locked: false,
    globalNetworking: { enabled: false },
    // "Null when the pod is not RUNNING"; public mappings for TCP ports only (HTTP goes through the proxy).
    runtime: running ? { uptime: 60, ports: tcp.map((x, i) => ({ private: Number.parseInt(x, 10), public: 34446 + i, type: "tcp", ip: PUBLIC_IP })) } : null,
    createdAt: CREATED_AT,
    startedAt: running ? CREATED_AT : null,
  };
}

function issueText(i: z.core.$ZodIssue): string {
  const where = ["$", ...i.path.map(String)].join(".");
  if (i.code === "unrecognized_keys") return `${where}: additional properties ${i.keys.map((k) => `'${k}'`).join(", ")} not allowed`;
  return `${where}: ${i.message}`;
}

export async function startRunPodDouble(opts: { apiKey: string }): Promise<RunPodDouble> {
  let pods = new Map<string, DoublePod>();
  let script: Behaviour[] = [];
  let noCapacity = new Set<string>();
  let forbidden = new Set<string>();
  let broke = false;
  const requests: RecordedRequest[] = [];
  const held = new Set<http.ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let counter = 0;

  // Shaped like RunPod's (lower-case letters and digits, e.g. "7h9k2m4n6p"), never reused.
  const newId = () => `rp${(++counter).toString(36).padStart(12, "0")}`;
  const json = (res: http.ServerResponse, status: number, value?: unknown) => {
    if (value === undefined) return res.writeHead(status).end();
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
  };
  const problem = (res: http.ServerResponse, status: number, detail: string, extra: { errors?: string[]; headers?: Record<string, string> } = {}) => {
    const body = { title: STATUS_CODES[status] ?? "Error", status, detail, ...(extra.errors ? { errors: extra.errors } : {}) };
    res.writeHead(status, { "content-type": "application/problem+json", ...extra.headers }).end(JSON.stringify(body));
  };

  const create = (res: http.ServerResponse, body: unknown) => {
    const input = createPodRequest.safeParse(body);
    if (!input.success) return problem(res, 422, "Request validation failed.", { errors: input.error.issues.map(issueText) });
    const d = input.data;
    if (d.image === undefined && d.templateId === undefined)
      return problem(res, 422, "Request validation failed.", { errors: ["$: required property 'image' missing"] });
    if (d.templateId !== undefined) return problem(res, 404, "template not found");
    if ((d.gpu === undefined) === (d.cpu === undefined)) return problem(res, 400, "exactly one of gpu or cpu must be set");
    if (d.mounts?.persistent && d.mounts.network) return problem(res, 400, "mounts.persistent and mounts.network are mutually exclusive");
    if (d.mounts?.persistent && d.cpu) return problem(res, 400, "mounts.persistent is not supported on CPU pods");
    const badPort = d.ports?.find((p) => !/^\d{1,5}\/(http|tcp)$/.test(p));
    if (badPort !== undefined) return problem(res, 400, `invalid port '${badPort}': expected <port>/http or <port>/tcp`);
    const gpu = d.gpu ? { id: d.gpu.id, count: d.gpu.count ?? 1 } : null;
    if (gpu && forbidden.has(gpu.id)) return problem(res, 403, "access denied");
    if (gpu && noCapacity.has(gpu.id)) {
      return problem(res, 400, `There are no longer any instances available with the requested specifications (${gpu.id}, ${d.cloud ?? "SECURE"}).`);
    }
    // (Which RunPod checks first is not documented; here the balance only matters for a pod that could be placed.)
    if (broke) return problem(res, 402, "insufficient balance to deploy this pod");
    const pod: DoublePod = {
      id: newId(),
      name: d.name,
      image: d.image ?? "",
      status: "PROVISIONING",
      cost: Math.round(PRICE_PER_GPU * (gpu?.count ?? 1) * 100) / 100,
      ports: d.ports ?? [],
      env: d.env ?? {},
      disk: d.disk ?? 50,
      mounts: d.mounts ?? {},
      gpu,
      cloud: d.cloud ?? "SECURE",
      dataCenterId: null,
      cluster: null,
    };
    pods.set(pod.id, pod);
    return json(res, 201, view(pod));
  };

  const route = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: unknown) => {
    const auth = req.headers.authorization;
    if (!auth?.startsWith("Bearer ")) return problem(res, 401, "missing bearer token");
    if (auth !== `Bearer ${opts.apiKey}`) return problem(res, 401, "invalid bearer token");
    const path = url.pathname;
    if (path === "/v2/pods") {
      if (req.method === "POST") return create(res, body);
      if (req.method === "GET") {
        const all = url.searchParams.get("includeClusterPods") === "true";
        return json(res, 200, { pods: [...pods.values()].filter((p) => all || !p.cluster).map(view) });
      }
      return problem(res, 405, "The requested method is not allowed for this path.", { headers: { allow: "GET, POST" } });
    }
    const one = /^\/v2\/pods\/([^/]+)$/.exec(path);
    if (one && req.method === "DELETE") {
      const id = decodeURIComponent(one[1]!);
      const pod = pods.get(id);
      if (!pod) return problem(res, 404, "pod not found");
      if (pod.cluster) return problem(res, 409, `pod ${id} belongs to cluster ${pod.cluster.id}; delete the cluster instead`);
      pods.delete(id);
      return json(res, 204);
    }
    problem(res, 404, "resource not found");
  };

  const server = createTextServer((req, res, text, url) => {
    let body: unknown = text;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        // recorded as text; the route answers 422 since it is not an object
      }
    }
    requests.push({
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization ?? "",
      body: text ? body : undefined,
    });
    const behaviour = script.shift();
    if (!behaviour) return route(req, res, url, body);
    switch (behaviour.kind) {
      case "fail":
        return problem(res, behaviour.status, behaviour.detail ?? `injected failure ${behaviour.status}`, {
          headers: behaviour.retryAfter === undefined ? {} : { "retry-after": String(behaviour.retryAfter) },
        });
      case "raw":
        return res.writeHead(behaviour.status, { "content-type": behaviour.contentType ?? "application/json" }).end(behaviour.body);
      case "hang":
        held.add(res);
        return;
      case "stall-body":
        held.add(res);
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"pods":[{"id":"');
        return;
      case "slow": {
        const timer = setTimeout(() => {
          timers.delete(timer);
          route(req, res, url, body);
        }, behaviour.delayMs);
        timers.add(timer);
        return;
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v2`,
    requests,
    addPod(fields) {
      const id = fields.id ?? newId();
      pods.set(id, {
        image: "runpod/pytorch:1.0.2-cu1281-torch280-ubuntu2404",
        status: "RUNNING",
        cost: 0.69,
        ports: ["8888/http", "22/tcp"],
        env: {},
        disk: 50,
        mounts: { persistent: { size: 20, path: "/workspace" } },
        gpu: { id: "NVIDIA A40", count: 1 },
        cloud: "SECURE",
        dataCenterId: "US-KS-2",
        cluster: null,
        ...fields,
        id,
      });
      return id;
    },
    updatePod(id, patch) {
      const pod = pods.get(id);
      if (!pod) throw new Error(`no pod ${id} in the double`);
      pods.set(id, { ...pod, ...patch, id });
    },
    pods: () => [...pods.values()],
    outOfCapacity(...ids) {
      for (const id of ids) noCapacity.add(id);
    },
    forbidGpuTypes(...ids) {
      for (const id of ids) forbidden.add(id);
    },
    setInsufficientBalance(on) {
      broke = on;
    },
    next(n, behaviour) {
      for (let i = 0; i < n; i++) script.push(behaviour);
    },
    reset() {
      pods = new Map();
      script = [];
      noCapacity = new Set();
      forbidden = new Set();
      broke = false;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const res of held) res.destroy();
        held.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
