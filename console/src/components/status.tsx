import type { JobStatus } from "comfyui-saas-client";

export function StatusBadge({ status, cancelRequested = false }: { status: JobStatus; cancelRequested?: boolean }) {
  return (
    <span class={`status status-${status}`}>
      {status}
      {cancelRequested && (status === "queued" || status === "running") ? " (cancelling)" : ""}
    </span>
  );
}

/** A job's progress as a native progress bar (labelled, read by screen readers); indeterminate when unknown. */
export function JobProgress({ percent, label }: { percent: number | null; label: string }) {
  return (
    <span class="progress">
      {percent === null ? <progress aria-label={label} /> : <progress aria-label={label} max={100} value={percent} />}
      <span class="progress-text">{percent === null ? "" : `${Math.floor(percent)} %`}</span>
    </span>
  );
}
