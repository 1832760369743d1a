/**
 * Inputs: downloaded from the edge only (never from a user URL; the edge fetched and stored
 * them), checked against the size and SHA-256 the dispatch announced, and uploaded to ComfyUI with
 * `/upload/image` into the job's own input subfolder (`overwrite`, so a retried upload cannot
 * turn into `name (1).png`). Up to four inputs move at once.
 */
import type { InputRef, JobFailure } from "../../../src/protocol/messages.ts";
import type { ComfyClient } from "../comfy/client.ts";
import type { EdgeClient } from "../edge/client.ts";
import type { Job } from "./job.ts";
import { safeSegment } from "./workflow.ts";

const PARALLEL = 4;

export type InputValue = { nodeId: string; inputName: string; value: string };
export type PreparedInputs =
  | { ok: true; values: InputValue[] }
  | { ok: false; failure: JobFailure }
  | { ok: false; stale: true }
  | { ok: false; stopped: true };

type InputDeps = { edge: EdgeClient; comfy: ComfyClient; maxInputBytes: number; transferTimeoutMs: number };

export async function prepareInputs(job: Job, deps: InputDeps): Promise<PreparedInputs> {
  const inputs = job.request.inputs;
  const values: InputValue[] = new Array(inputs.length);
  let failed: PreparedInputs | undefined;
  let next = 0;
  const worker = async () => {
    while (failed === undefined && next < inputs.length) {
      const i = next++;
      const result = await prepareOne(job, inputs[i]!, deps);
      if ("value" in result) values[i] = result.value;
      else failed ??= result;
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, inputs.length) }, worker));
  if (job.stop) return { ok: false, stopped: true };
  return failed ?? { ok: true, values };
}

async function prepareOne(job: Job, input: InputRef, deps: InputDeps): Promise<{ value: InputValue } | PreparedInputs> {
  const got = await deps.edge.getInput(job.ref, input, deps.maxInputBytes, { signal: job.abort.signal });
  if (!got.ok) {
    switch (got.reason) {
      case "aborted":
        return { ok: false, stopped: true };
      case "stale":
        return { ok: false, stale: true };
      case "rejected":
        return {
          ok: false,
          failure: {
            code: "input_unavailable",
            message: `input ${input.id}: the edge answered ${got.status}`,
            details: { input_id: input.id, status: got.status },
          },
        };
      case "unavailable":
        return { ok: false, failure: { code: "input_unavailable", message: `input ${input.id}: ${got.detail}`, details: { input_id: input.id } } };
    }
  }
  if (job.stop) return { ok: false, stopped: true };
  const filename = `${safeSegment(input.id, "input", 40)}-${safeSegment(input.filename, "file", 120)}`;
  try {
    const ref = await deps.comfy.uploadImage(got.value, filename, job.namespace, input.content_type, deps.transferTimeoutMs);
    const value = ref.subfolder ? `${ref.subfolder}/${ref.filename}` : ref.filename;
    return { value: { nodeId: input.node_id, inputName: input.input_name, value } };
  } catch (err) {
    return {
      ok: false,
      failure: {
        code: "input_unavailable",
        message: `input ${input.id}: upload to ComfyUI failed: ${(err as Error).message}`,
        details: { input_id: input.id },
      },
    };
  }
}
