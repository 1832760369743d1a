/**
 * The jobs table's data: the newest page of the caller's jobs, with the live ones kept current
 * from their event streams (as many as the stream budget allows, the newest first); the list is
 * read again every few seconds for new jobs and for live jobs beyond the budget. docs/console.md
 * says why there is no single "all my jobs" stream.
 */
import type { ComfyClient } from "comfyui-saas-client";
import { useEffect, useState } from "preact/hooks";
import { applyEvent, fromJob, isTerminal, type LiveJob } from "./job-state.ts";
import { streamBudget } from "./stream-budget.ts";

export const PAGE_SIZE = 50;
/** Re-reads of the list: soon while some live job has no stream, rarely otherwise. */
const FAST_MS = 2_000;
const SLOW_MS = 10_000;

export function useLiveJobs(client: ComfyClient): { jobs: LiveJob[] | null; error: unknown; refresh: () => void } {
  const [jobs, setJobs] = useState<LiveJob[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [kick, setKick] = useState(0);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const budget = streamBudget();
    const streams = new Map<string, AbortController>();
    const streamed = new Map<string, LiveJob>();
    let listed: LiveJob[] = [];

    const publish = () => {
      if (!stopped) setJobs(listed.map((j) => streamed.get(j.id) ?? j));
    };

    const follow = async (start: LiveJob) => {
      const abort = new AbortController();
      streams.set(start.id, abort);
      let state = start;
      try {
        for await (const event of client.watch(start.id, { signal: abort.signal })) {
          state = applyEvent(state, event);
          streamed.set(state.id, state);
          publish();
        }
      } catch {
        // The list's next read shows where the job stands; a stream that failed is not retried here.
      } finally {
        streams.delete(start.id);
      }
    };

    const read = async () => {
      try {
        const page = [];
        for await (const job of client.list({ pageSize: PAGE_SIZE })) {
          page.push(fromJob(job));
          if (page.length >= PAGE_SIZE) break;
        }
        if (stopped) return;
        listed = page;
        for (const j of listed) if (isTerminal(j.status)) streamed.delete(j.id);
        for (const j of listed) {
          if (streams.size >= budget) break;
          if (!isTerminal(j.status) && !streams.has(j.id) && !isTerminal(streamed.get(j.id)?.status ?? j.status)) void follow(streamed.get(j.id) ?? j);
        }
        setError(null);
        publish();
      } catch (err) {
        if (!stopped) setError(err);
      }
      if (stopped) return;
      const unfollowed = listed.some((j) => !isTerminal((streamed.get(j.id) ?? j).status) && !streams.has(j.id));
      timer = setTimeout(read, unfollowed ? FAST_MS : SLOW_MS);
    };
    void read();

    return () => {
      stopped = true;
      clearTimeout(timer);
      for (const abort of streams.values()) abort.abort();
    };
  }, [client, kick]);

  return { jobs, error, refresh: () => setKick((k) => k + 1) };
}

/** Re-renders every `ms` (ages, countdowns). */
export function useTick(ms = 1_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
