/**
 * Verifies an uploaded model file whole: the object R2 assembled from the parts must have the
 * declared size and SHA-256 (hashed while streaming, never held in memory). A file that does not
 * match is deleted, and the blob is `failed` with what was wrong; one that does is `ready`.
 */
import { modelBlobKey } from "../blobs/keys.ts";
import { createDb } from "../db/client.ts";
import { moveBlob } from "../db/models.ts";
import type { ModelBlobRow } from "../db/schema.ts";
import type { Env } from "../env.ts";
import { toHex } from "../protocol/encoding.ts";

/** What became of a blob in the making: ready, failed, or `gone` (deleted, or decided elsewhere). */
export type Verdict = "ready" | "failed" | "gone";

export async function verifyBlob(env: Env, blob: ModelBlobRow): Promise<Verdict> {
  if (blob.state !== "verifying") return "gone"; // already decided
  const { scope, sha256 } = blob;
  const db = createDb(env.DB);
  const key = modelBlobKey(scope, sha256);
  const object = await env.BLOBS.get(key);
  let problem: string | undefined;
  if (!object) problem = "the assembled file is missing from storage";
  else if (object.size !== blob.size) {
    problem = `the assembled file is ${object.size} bytes, not the declared ${blob.size}`;
    await object.body.cancel();
  } else {
    const digest = new crypto.DigestStream("SHA-256");
    await object.body.pipeTo(digest);
    const got = toHex(new Uint8Array(await digest.digest));
    if (got !== sha256) problem = `the assembled file's SHA-256 is ${got}, not the declared ${sha256}`;
  }
  const now = Date.now();
  if (problem === undefined) {
    return (await moveBlob(db, scope, sha256, ["verifying"], { state: "ready", error: null, updatedAt: now })) ? "ready" : "gone";
  }
  await env.BLOBS.delete(key);
  const error = `Verification failed: ${problem}. The file was deleted; register it again and upload the right bytes.`;
  return (await moveBlob(db, scope, sha256, ["verifying"], { state: "failed", error, parts: null, updatedAt: now })) ? "failed" : "gone";
}
