// The model registry as tests use it (inside workerd): register a file, upload its parts, complete
// and wait for its verification (or its import from a source URL), all through the admin API.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SHARED_MODELS } from "../../src/blobs/keys.ts";
import { createDb } from "../../src/db/client.ts";
import { getBlob } from "../../src/db/models.ts";
import { adminCall, call, json, userHeaders } from "./worker-helpers.ts";

export type TestModel = {
  id: string;
  state: string;
  sha256: string;
  size: number;
  error: string | null;
  source: null | { kind: "upload" | "url"; url: string | null };
  upload: null | { part_size: number; parts_total: number; parts_received: number[] };
};

/** Bytes unique to this call (so each test's file is new to the registry). */
export function fileBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  crypto.getRandomValues(out.subarray(0, Math.min(size, 65_536)));
  for (let i = 65_536; i < size; i++) out[i] = (i * 31) & 0xff;
  return out;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The registry's calls, for the operators' registry (`adminModels`) or a tenant's (`tenantModels(key)`). */
export function modelApi(base: string, send: (path: string, init: RequestInit) => Promise<Response>) {
  const api = {
    register: (body: Record<string, unknown>) => send(base, json(body)),
    putPart: (id: string, n: number, bytes: Uint8Array) =>
      send(`${base}/${id}/parts/${n}`, { method: "PUT", body: bytes, headers: { "Content-Type": "application/octet-stream" } }),
    complete: (id: string) => send(`${base}/${id}/complete`, { method: "POST" }),
    read: async (id: string) => (await (await send(`${base}/${id}`, {})).json()) as TestModel,
    /** Uploads `bytes` as the parts of `model` (in the order given) and completes it. */
    async upload(model: TestModel, bytes: Uint8Array, order?: number[]): Promise<Response> {
      const size = model.upload!.part_size;
      for (const n of order ?? Array.from({ length: model.upload!.parts_total }, (_, i) => i + 1)) {
        const res = await api.putPart(model.id, n, bytes.subarray((n - 1) * size, n * size));
        if (res.status !== 200) throw new Error(`part ${n}: ${res.status} ${await res.text()}`);
      }
      return api.complete(model.id);
    },
  };
  return api;
}

export const adminModels = modelApi("/v1/admin/models", adminCall);
export const tenantModels = (key: string, user = "u") =>
  modelApi("/v1/models", (path, init) => {
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(userHeaders(key, user))) headers.set(k, v);
    return call(path, { ...init, headers });
  });

export const registerModel = adminModels.register;
export const putPart = adminModels.putPart;
export const completeModel = adminModels.complete;
export const readModel = adminModels.read;
export const uploadModel = adminModels.upload;

/** The states a ModelVerifier's alarm moves a model out of. */
const PENDING = new Set(["verifying", "importing"]);

/**
 * Waits for the ModelVerifier of `sha256` (its alarm, due at once) to move `read()` out of
 * verifying or importing; runs the alarm itself if the runtime has not yet. Bounded generously
 * for a loaded machine.
 */
async function settled<T extends { state: string }>(sha256: string, read: () => Promise<T>, scope = SHARED_MODELS): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await runDurableObjectAlarm(env.MODEL_VERIFIER.getByName(`${scope}:${sha256}`));
    const m = await read();
    if (!PENDING.has(m.state) || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The model once its verification or import has decided (see `settled`). */
export const verifiedModel = (id: string, sha256: string, read = readModel, scope = SHARED_MODELS): Promise<TestModel> =>
  settled(sha256, () => read(id), scope);

/** The shared blob of `sha256` once its verifier has decided (for a blob a test made without the API). */
export const settledBlob = (sha256: string) =>
  settled(sha256, async () => (await getBlob(createDb(env.DB), SHARED_MODELS, sha256)) ?? { state: "gone" as const });

/** A shared model file that is ready for hosts: registered, uploaded and verified. */
export async function readyModel(folder: string, name: string, bytes: Uint8Array): Promise<TestModel & { sha256: string }> {
  const sha256 = await sha256Hex(bytes);
  const res = await registerModel({ folder, name, sha256, size: bytes.length });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  const model = (await res.json()) as TestModel;
  if (model.state === "uploading") await uploadModel(model, bytes);
  const ready = await verifiedModel(model.id, sha256);
  if (ready.state !== "ready") throw new Error(`model ${model.id} is ${ready.state}: ${ready.error}`);
  return { ...ready, sha256 };
}
