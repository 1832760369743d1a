/**
 * One job, live: its progress bar, the sampler's preview, its place in the queue and ETA, its
 * outputs as they are stored, its error, and cancel. The event stream replays the job's history
 * and then follows it, so opening the page late shows the same as watching from the start.
 */
import { ApiError, type ComfyClient, type Job } from "comfyui-saas-client";
import { useEffect, useState } from "preact/hooks";
import { Outputs } from "../components/outputs.tsx";
import { ProblemView } from "../components/problem.tsx";
import { JobProgress, StatusBadge } from "../components/status.tsx";
import { duration, time } from "../format.ts";
import { applyEvent, fromJob, isTerminal, type LiveJob, remaining, settle } from "../live/job-state.ts";
import { useTick } from "../live/use-live-jobs.ts";

function Eta({ label, seconds, asOf, now }: { label: string; seconds: number | null; asOf: number; now: number }) {
  const left = remaining(seconds, asOf, now);
  if (left === null) return null;
  return (
    <p>
      {label} {left === 0 ? "any moment now" : `in about ${duration(left)}`}
    </p>
  );
}

export function JobPage({ client, id }: { client: ComfyClient; id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [live, setLive] = useState<LiveJob | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const [cancelling, setCancelling] = useState(false);
  const now = useTick();

  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      const first = await client.get(id);
      if (abort.signal.aborted) return;
      setJob(first);
      let state = fromJob(first);
      setLive(state);
      if (isTerminal(first.status)) return;
      for await (const event of client.watch(id, { signal: abort.signal })) {
        state = applyEvent(state, event);
        setLive(state);
      }
      // The end as the API records it: timings and outputs with fresh links.
      const last = await client.get(id);
      if (!abort.signal.aborted) {
        setJob(last);
        setLive(settle(state, fromJob(last)));
      }
    })().catch((err: unknown) => {
      if (!abort.signal.aborted) setError(err);
    });
    return () => abort.abort();
  }, [client, id]);

  const cancel = async () => {
    setCancelling(true);
    setCancelError(null);
    try {
      const after = await client.cancel(id);
      setLive((s) => (s && after.cancel_requested_at ? { ...s, cancelRequested: true } : s));
    } catch (err) {
      setCancelError(err);
    } finally {
      setCancelling(false);
    }
  };

  if (error) {
    if (error instanceof ApiError && error.status === 404)
      return (
        <>
          <h1>Job not found</h1>
          <p>
            No job {id} belongs to you. <a href="/console">Back to your jobs.</a>
          </p>
        </>
      );
    return <ProblemView error={error} />;
  }
  if (!job || !live) return <p class="muted">Loading job {id}…</p>;

  const ended = isTerminal(live.status);
  return (
    <>
      <p>
        <a href="/console">← Jobs</a>
      </p>
      <h1>
        Job <code>{live.id}</code>
      </h1>
      <dl class="facts">
        <dt>Status</dt>
        <dd aria-live="polite" data-testid="job-status">
          <StatusBadge status={live.status} cancelRequested={live.cancelRequested} />
        </dd>
        <dt>Pool</dt>
        <dd>{live.pool}</dd>
        <dt>Submitted</dt>
        <dd>{time(job.created_at)}</dd>
        {live.attempt > 1 ? (
          <>
            <dt>Attempt</dt>
            <dd>{live.attempt}</dd>
          </>
        ) : null}
        {ended && job.timings.total_ms !== null ? (
          <>
            <dt>Took</dt>
            <dd>{duration(job.timings.total_ms / 1000)}</dd>
          </>
        ) : null}
      </dl>

      <section aria-labelledby="progress-title">
        <h2 id="progress-title">Progress</h2>
        <JobProgress percent={live.status === "queued" ? 0 : live.percent} label="Job progress" />
        {live.status === "running" && live.nodeType ? (
          <p class="muted">
            {live.nodeType}
            {live.step ? ` · step ${live.step.value} of ${live.step.max}` : ""}
          </p>
        ) : null}
        {live.status === "queued" ? (
          <>
            <p>{live.position === null ? "Waiting for a GPU." : live.position === 0 ? "Next in the queue." : `${live.position} jobs ahead in the queue.`}</p>
            {job.waiting_for ? (
              <p class="warning">
                {job.waiting_for.reason === "no-live-host"
                  ? "No GPU host of this pool is up right now."
                  : `No live host has everything this job needs${job.waiting_for.models?.length ? ` (missing: ${job.waiting_for.models.join(", ")})` : ""}.`}
              </p>
            ) : null}
            <Eta label="Starts" seconds={live.estimatedStartSeconds} asOf={live.asOf} now={now} />
          </>
        ) : null}
        {!ended ? <Eta label="Finishes" seconds={live.estimatedFinishSeconds} asOf={live.asOf} now={now} /> : null}
        {!ended ? (
          <button type="button" class="danger" onClick={cancel} disabled={cancelling || live.cancelRequested}>
            {live.cancelRequested ? "Cancelling…" : "Cancel job"}
          </button>
        ) : null}
        {cancelError ? <ProblemView error={cancelError} /> : null}
      </section>

      {live.previewUrl && !ended ? (
        <section aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <img class="preview" key={live.previewUrl} src={live.previewUrl} alt="The sampler's latest preview" />
        </section>
      ) : null}

      {live.status === "failed" || live.status === "cancelled" ? (
        <section aria-labelledby="end-title">
          <h2 id="end-title">{live.status === "cancelled" ? "Cancelled" : "Error"}</h2>
          {live.error ? (
            <div class="problem" role="alert">
              <strong>
                <code>{live.error.code}</code>
              </strong>
              <p>{live.error.message}</p>
            </div>
          ) : (
            <p>The job was cancelled{job.finished_at ? ` at ${time(job.finished_at)}` : ""}.</p>
          )}
        </section>
      ) : null}

      <section aria-labelledby="outputs-title">
        <h2 id="outputs-title">Outputs</h2>
        <Outputs outputs={live.outputs} />
      </section>
    </>
  );
}
