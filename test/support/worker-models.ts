// The model registry as tests use it (inside workerd): register a file, upload its parts, complete
// and wait for its verification (or its import from a source URL), all through the admin API.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SHARED_MODELS } from "../../src/blobs/keys.ts";
import { createDb } from "../../src/db/client.ts";
import { getBlob } from "../../src/db/models.ts";
import { adminCall, json } from "./worker-helpers.ts";

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

export const registerModel = (body: Record<string, unknown>) => adminCall("/v1/admin/models", json(body));
export const putPart = (id: string, n: number, bytes: Uint8Array) =>
  adminCall(`/v1/admin/models/${id}/parts/${n}`, { method: "PUT", body: bytes, headers: { "Content-Type": "application/octet-stream" } });
export const completeModel = (id: string) => adminCall(`/v1/admin/models/${id}/complete`, { method: "POST" });
export const readModel = async (id: string) => (await (await adminCall(`/v1/admin/models/${id}`)).json()) as TestModel;

/** Uploads `bytes` as the parts of `model` (in the order given) and completes it. */
export async function uploadModel(model: TestModel, bytes: Uint8Array, order?: number[]): Promise<Response> {
  const size = model.upload!.part_size;
  for (const n of order ?? Array.from({ length: model.upload!.parts_total }, (_, i) => i + 1)) {
    const res = await putPart(model.id, n, bytes.subarray((n - 1) * size, n * size));
    if (res.status !== 200) throw new Error(`part ${n}: ${res.status} ${await res.text()}`);
  }
  return completeModel(model.id);
}

/** The states a ModelVerifier's alarm moves a model out of. */
const PENDING = new Set(["verifying", "importing"]);

/**
 * Waits for the ModelVerifier of `sha256` (its alarm, due at once) to move `read()` out of
 * verifying or importing; runs the alarm itself if the runtime has not yet. Bounded generously
 * for a loaded machine.
 */
async function settled<T extends { state: string }>(sha256: string, read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await runDurableObjectAlarm(env.MODEL_VERIFIER.getByName(`${SHARED_MODELS}:${sha256}`));
    const m = await read();
    if (!PENDING.has(m.state) || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The model once its verification or import has decided (see `settled`). */
export const verifiedModel = (id: string, sha256: string): Promise<TestModel> => settled(sha256, () => readModel(id));

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
