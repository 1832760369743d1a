/** The caller's jobs, newest first, live: status, progress, age and pool; usage gauges above. */
import type { ComfyClient } from "comfyui-saas-client";
import { ProblemView } from "../components/problem.tsx";
import { JobProgress, StatusBadge } from "../components/status.tsx";
import { UsageGauges } from "../components/usage-gauges.tsx";
import { age } from "../format.ts";
import { isTerminal } from "../live/job-state.ts";
import { PAGE_SIZE, useLiveJobs, useTick } from "../live/use-live-jobs.ts";

export function JobsPage({ client }: { client: ComfyClient }) {
  const { jobs, error } = useLiveJobs(client);
  const now = useTick();
  const activeCount = jobs?.filter((j) => !isTerminal(j.status)).length ?? 0;
  return (
    <>
      <h1>Jobs</h1>
      <UsageGauges client={client} version={activeCount} />
      <section aria-labelledby="jobs-title">
        <div class="row">
          <h2 id="jobs-title">Your jobs</h2>
          <a class="button" href="/console/submit">
            New job
          </a>
        </div>
        {error ? <ProblemView error={error} /> : null}
        {jobs === null ? (
          <p class="muted">Loading…</p>
        ) : jobs.length === 0 ? (
          <p>
            No jobs yet. <a href="/console/submit">Submit one.</a>
          </p>
        ) : (
          <div class="table-wrap">
            <table class="jobs">
              <caption class="visually-hidden">Your {PAGE_SIZE} newest jobs</caption>
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Age</th>
                  <th scope="col">Pool</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => (
                  <tr key={j.id} data-job-id={j.id}>
                    <td>
                      <a href={`/console/jobs/${encodeURIComponent(j.id)}`}>{j.id}</a>
                    </td>
                    <td>
                      <StatusBadge status={j.status} cancelRequested={j.cancelRequested} />
                    </td>
                    <td>
                      <JobProgress percent={j.status === "queued" ? 0 : j.percent} label={`Progress of ${j.id}`} />
                    </td>
                    <td>{age(j.createdAt, now)}</td>
                    <td>{j.pool}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
