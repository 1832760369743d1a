// The operators' model registry (issue 14.1): a file is registered by folder, name, SHA-256 and
// size, uploaded in parts (any order, a part sent again replaces it), completed, then verified
// whole by its ModelVerifier before it is ready; bytes that do not match are deleted and the model
// says why. Registering a name for bytes the registry has needs no upload; names never change
// their bytes; a file's bytes go with its last name.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { modelBlobKey, SHARED_MODELS } from "../../src/blobs/keys.ts";
import { adminCall, call, expectProblem, json } from "../support/worker-helpers.ts";
import {
  completeModel as complete,
  fileBytes,
  type TestModel as Model,
  putPart,
  readModel as read,
  registerModel as register,
  sha256Hex,
  uploadModel as upload,
  verifiedModel as verified,
} from "../support/worker-models.ts";

/** MODEL_UPLOAD_PART_BYTES in the test config (vitest.workers.config.ts): R2's minimum part. */
const PART = 5 * 1024 * 1024;

describe("model registry", () => {
  it("registers, takes the parts in any order, verifies the whole file and makes it ready", async ({ expect }) => {
    const bytes = fileBytes(PART + 1_000);
    const sha256 = await sha256Hex(bytes);
    const res = await register({ folder: "loras", name: `detail-${sha256.slice(0, 8)}.safetensors`, sha256, size: bytes.length });
    expect(res.status).toBe(201);
    const model = (await res.json()) as Model;
    expect(model).toMatchObject({ state: "uploading", size: bytes.length, upload: { parts_total: 2, parts_received: [] } });

    const done = await upload(model, bytes);
    expect(done.status).toBe(202);
    expect(await done.json()).toMatchObject({ state: "verifying", upload: null });
    expect(await verified(model.id, sha256)).toMatchObject({ state: "ready", error: null });
    const stored = await env.BLOBS.get(modelBlobKey(SHARED_MODELS, sha256));
    expect(stored?.size).toBe(bytes.length);
    await stored?.body.cancel();
  });

  it("a multi-part upload resumes: parts in any order, a part sent again replaces it", async ({ expect }) => {
    const size = 2 * PART + 10;
    const bytes = fileBytes(size);
    const sha256 = await sha256Hex(bytes);
    const model = (await (await register({ folder: "checkpoints", name: `big-${sha256.slice(0, 8)}.safetensors`, sha256, size })).json()) as Model;
    expect(model.upload).toMatchObject({ part_size: PART, parts_total: 3 });
    // Part 2 first, part 3 twice (a resumed upload), part 1 last; complete before the end is refused.
    expect((await putPart(model.id, 2, bytes.subarray(PART, 2 * PART))).status).toBe(200);
    const early = await expectProblem(await complete(model.id), 409, "conflict");
    expect(early.missing_parts).toEqual([1, 3]);
    expect((await putPart(model.id, 3, bytes.subarray(2 * PART))).status).toBe(200);
    expect((await putPart(model.id, 3, bytes.subarray(2 * PART))).status).toBe(200);
    expect((await read(model.id)).upload?.parts_received).toEqual([2, 3]);
    expect((await putPart(model.id, 1, bytes.subarray(0, PART))).status).toBe(200);
    expect((await complete(model.id)).status).toBe(202);
    expect((await verified(model.id, sha256)).state).toBe("ready");
  });

  it("bytes that do not match the declared SHA-256 are deleted and the model says so", async ({ expect }) => {
    const bytes = fileBytes(4_096);
    const declared = await sha256Hex(fileBytes(4_096)); // some other file's hash
    const model = (await (
      await register({ folder: "loras", name: `wrong-${declared.slice(0, 8)}.safetensors`, sha256: declared, size: bytes.length })
    ).json()) as Model;
    expect((await upload(model, bytes)).status).toBe(202);
    const after = await verified(model.id, declared);
    expect(after.state).toBe("failed");
    expect(after.error).toContain(`not the declared ${declared}`);
    expect(await env.BLOBS.head(modelBlobKey(SHARED_MODELS, declared))).toBeNull();
    // Registering it again starts a new upload.
    const again = (await (
      await register({ folder: "loras", name: `wrong2-${declared.slice(0, 8)}.safetensors`, sha256: declared, size: bytes.length })
    ).json()) as Model;
    expect(again).toMatchObject({ state: "uploading" });
  });

  it("refuses parts of the wrong size, parts that do not exist, and bodies without a length", async ({ expect }) => {
    const bytes = fileBytes(2_000);
    const sha256 = await sha256Hex(bytes);
    const model = (await (await register({ folder: "vae", name: `v-${sha256.slice(0, 8)}.safetensors`, sha256, size: bytes.length })).json()) as Model;
    const short = await expectProblem(await putPart(model.id, 1, bytes.subarray(0, 1_999)), 422, "validation-failed");
    expect(short.detail).toContain("exactly 2000 bytes");
    await expectProblem(await putPart(model.id, 2, bytes), 400, "invalid-query");
    expect((await read(model.id)).upload?.parts_received).toEqual([]);
    await expectProblem(await adminCall(`/v1/admin/models/${model.id}/parts/1`, { method: "PUT", body: "x".repeat(10) }), 422, "validation-failed");
  });

  it("a name for bytes the registry has is ready at once; a name never changes its bytes; bad input is a 422", async ({ expect }) => {
    const bytes = fileBytes(1_024);
    const sha256 = await sha256Hex(bytes);
    const name = `shared-${sha256.slice(0, 8)}.safetensors`;
    const first = (await (await register({ folder: "loras", name, sha256, size: bytes.length })).json()) as Model;
    await upload(first, bytes);
    expect((await verified(first.id, sha256)).state).toBe("ready");
    const second = await register({ folder: "embeddings", name: `alias-${sha256.slice(0, 8)}.pt`, sha256, size: bytes.length });
    expect(second.status).toBe(201);
    expect(await second.json()).toMatchObject({ state: "ready", upload: null });
    // The same registration again is the same model (200); other bytes under the name are a 409.
    const repeat = await register({ folder: "loras", name, sha256, size: bytes.length });
    expect(repeat.status).toBe(200);
    expect(((await repeat.json()) as Model).id).toBe(first.id);
    await expectProblem(await register({ folder: "loras", name, sha256: "a".repeat(64), size: 5 }), 409, "conflict");
    await expectProblem(
      await register({ folder: "loras", name: `x-${sha256.slice(0, 6)}.safetensors`, sha256, size: bytes.length + 1 }),
      422,
      "validation-failed",
    );
    for (const bad of [
      { folder: "loras", name: "../escape.safetensors", sha256, size: 1 },
      { folder: "loras", name: "notes.txt", sha256, size: 1 },
      { folder: "../x", name: "a.safetensors", sha256, size: 1 },
      { folder: "loras", name: "a.safetensors", sha256: "XYZ", size: 1 },
    ]) {
      await expectProblem(await register(bad), 422, "validation-failed");
    }
  });

  it("lists by page, and deleting the last name deletes the bytes (an open upload is aborted)", async ({ expect }) => {
    const bytes = fileBytes(512);
    const sha256 = await sha256Hex(bytes);
    const a = (await (await register({ folder: "upscale_models", name: `a-${sha256.slice(0, 8)}.pth`, sha256, size: bytes.length })).json()) as Model;
    await upload(a, bytes);
    expect((await verified(a.id, sha256)).state).toBe("ready");
    const b = (await (await register({ folder: "upscale_models", name: `b-${sha256.slice(0, 8)}.pth`, sha256, size: bytes.length })).json()) as Model;
    const page = (await (await adminCall("/v1/admin/models?folder=upscale_models&limit=1")).json()) as { data: Model[]; next_cursor: string | null };
    expect(page.data).toHaveLength(1);
    expect(page.next_cursor).not.toBeNull();

    expect((await adminCall(`/v1/admin/models/${a.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await env.BLOBS.head(modelBlobKey(SHARED_MODELS, sha256))).not.toBeNull();
    expect((await adminCall(`/v1/admin/models/${b.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await env.BLOBS.head(modelBlobKey(SHARED_MODELS, sha256))).toBeNull();
    await expectProblem(await adminCall(`/v1/admin/models/${b.id}`), 404, "not-found");

    const open = (await (await register({ folder: "loras", name: `open-${sha256.slice(0, 8)}.safetensors`, sha256, size: bytes.length })).json()) as Model;
    expect(open.state).toBe("uploading");
    expect((await adminCall(`/v1/admin/models/${open.id}`, { method: "DELETE" })).status).toBe(204);
    await expectProblem(await putPart(open.id, 1, bytes), 404, "not-found");
  });

  it("is for operators only", async () => {
    await expectProblem(await call("/v1/admin/models"), 401, "unauthenticated");
    await expectProblem(
      await call("/v1/admin/models", json({ folder: "loras", name: "a.safetensors", sha256: "a".repeat(64), size: 1 })),
      401,
      "unauthenticated",
    );
  });
});
