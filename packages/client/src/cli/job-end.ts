/** How a followed job ended, on stderr when it did not succeed; true when it did. */
import type { Job } from "../client.ts";
import { jobErrorText } from "./format.ts";
import type { Io } from "./io.ts";

export function reportEnd(io: Io, job: Job): boolean {
  if (job.status === "succeeded") return true;
  if (job.status === "failed") io.err(`error: job ${job.id} failed: ${jobErrorText(job)}`);
  else if (job.status === "cancelled") io.err(`error: job ${job.id} cancelled${job.error ? ` (${jobErrorText(job)})` : ""}`);
  else io.err(`error: job ${job.id} is still ${job.status}`);
  return false;
}
