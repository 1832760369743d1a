/**
 * Checks that ComfyUI's folders are the ones gpu-backend was told (COMFY_BASE_DIR …): it deletes
 * each job's files there and sweeps leftovers, so a wrong folder would silently keep every job's
 * files forever. A small random file is uploaded through ComfyUI into a probe subfolder and must
 * appear, byte for byte, in the configured input folder; the probe is removed either way (when it
 * landed elsewhere, there is nothing of ours to remove). The output and temp folders cannot be
 * probed without running a prompt; they are derived from the same base.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { NAMESPACE_ROOT } from "../jobs/workflow.ts";
import type { ComfyClient } from "./client.ts";

/** undefined when the input folder is right, else the problem; throws when ComfyUI did not take the upload. */
export async function checkInputFolder(comfy: ComfyClient, inputDir: string): Promise<string | undefined> {
  const subfolder = `${NAMESPACE_ROOT}/_probe-${randomBytes(6).toString("hex")}`;
  const bytes = randomBytes(32);
  const ref = await comfy.uploadImage(bytes, "probe.bin", subfolder, "application/octet-stream");
  try {
    let found: Buffer | undefined;
    try {
      found = readFileSync(resolve(inputDir, ref.subfolder, ref.filename));
    } catch {
      found = undefined;
    }
    if (found?.equals(bytes)) return undefined;
    return `ComfyUI's input folder is not ${inputDir}: a file uploaded through ComfyUI did not appear there. Set COMFY_BASE_DIR (or COMFY_INPUT_DIR, COMFY_OUTPUT_DIR, COMFY_TEMP_DIR) to the folders ComfyUI uses.`;
  } finally {
    await rm(resolve(inputDir, subfolder), { recursive: true, force: true }).catch(() => {});
  }
}
