/** The caller's usage against its limits: active jobs (own and tenant's) and the minute window. */
import type { ComfyClient, Usage } from "comfyui-saas-client";
import { useEffect, useState } from "preact/hooks";
import { ProblemView } from "./problem.tsx";

const REFRESH_MS = 10_000;

function Gauge({ id, label, value, max }: { id: string; label: string; value: number; max: number }) {
  return (
    <div class="gauge">
      <label for={id}>{label}</label>
      <meter id={id} min={0} max={Math.max(1, max)} value={value} high={Math.max(1, max) * 0.8} optimum={0} />
      <span>
        {value} of {max}
      </span>
    </div>
  );
}

export function UsageGauges({ client, version }: { client: ComfyClient; version: number }) {
  const [usage, setUsage] = useState<Usage | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    const read = async () => {
      try {
        const u = await client.usage();
        if (stopped) return;
        setUsage(u);
        setError(null);
      } catch (err) {
        if (!stopped) setError(err);
      }
    };
    void read();
    const t = setInterval(read, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [client, version]);
  if (error) return <ProblemView error={error} />;
  if (!usage) return <p class="muted">Reading usage…</p>;
  const windowLimit = usage.submissions_last_minute + usage.submissions_remaining;
  return (
    <section class="gauges" aria-labelledby="usage-title">
      <h2 id="usage-title">Usage</h2>
      <Gauge id="g-user" label="Your active jobs" value={usage.user_active_jobs} max={usage.limits.max_active_jobs_per_user} />
      <Gauge id="g-tenant" label="Your organisation's active jobs" value={usage.tenant_active_jobs} max={usage.limits.max_active_jobs_per_tenant} />
      <Gauge id="g-minute" label="Submissions this minute" value={usage.submissions_last_minute} max={windowLimit} />
      {usage.limits.gpu_seconds_per_month > 0 ? (
        <Gauge id="g-gpu" label={`GPU seconds in ${usage.month}`} value={Math.round(usage.gpu_seconds_this_month)} max={usage.limits.gpu_seconds_per_month} />
      ) : (
        <p class="gauge">
          GPU time in {usage.month}: {Math.round(usage.gpu_seconds_this_month)} s
        </p>
      )}
      {usage.window_reset_seconds > 0 ? <p class="muted">The oldest submission leaves the window in {usage.window_reset_seconds} s.</p> : null}
    </section>
  );
}
