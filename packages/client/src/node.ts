/** Node helpers of the client: files on disk. */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ComfyClient, Job, Upload } from "./client.ts";

/** Writes every output of a finished job into `dir` under its name; the paths written. */
export async function downloadOutputs(client: ComfyClient, job: Pick<Job, "outputs">, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const output of job.outputs) {
    // Output names are a plain file name (the API allows [A-Za-z0-9._-]); basename keeps it so.
    const path = join(dir, basename(output.name));
    await writeFile(path, await client.download(output));
    written.push(path);
  }
  return written;
}

/** Uploads a file from disk (`upload:<id>` in a workflow). */
export async function uploadFile(client: ComfyClient, path: string): Promise<Upload> {
  const bytes = await readFile(path);
  return client.uploads.create(new Blob([bytes]), { filename: basename(path) });
}
