/**
 * Follows a job to its end: its event stream into a reporter (the client's `watch` resumes a
 * dropped stream by itself), Ctrl-C handled meanwhile, and the job as it ended read back (with
 * freshly signed output URLs).
 */
import type { ComfyClient, Job } from "../client.ts";
import { ApiError } from "../errors.ts";
import { DetachedError, UnavailableError } from "./exit-codes.ts";
import { handleInterrupts } from "./interrupt.ts";
import type { Io } from "./io.ts";
import type { Reporter } from "./reporter.ts";

export async function followJob(client: ComfyClient, jobId: string, io: Io, reporter: Reporter): Promise<Job> {
  const stop = new AbortController();
  const dispose = handleInterrupts({
    jobId,
    io,
    reporter,
    cancel: () => client.cancel(jobId),
    detach: () => {
      reporter.close();
      stop.abort(new DetachedError(`stopped following job ${jobId}`));
    },
  });
  try {
    for await (const event of client.watch(jobId, { signal: stop.signal })) reporter.event(event);
  } catch (err) {
    reporter.close();
    if (stop.signal.aborted) throw stop.signal.reason;
    if (err instanceof ApiError) throw err;
    throw new UnavailableError(`lost the event stream of job ${jobId}: ${(err as Error).message}`, { cause: err });
  } finally {
    dispose();
  }
  return client.get(jobId);
}
