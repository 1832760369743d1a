/**
 * Which events a job's feed records, from what it recorded before. Events reach a feed from
 * several places (the Dispatcher, the lifecycle's compare-and-set winners, output uploads) and a
 * late one can arrive after a newer change; these rules keep the recorded history a story a
 * client can trust:
 * - the first event ever is `job.queued` (synthesized from the job's creation when the first
 *   publisher is not the submit);
 * - nothing follows a terminal event;
 * - an attempt's progress, previews and outputs count only while that attempt is the running one;
 * - `job.position` only while queued and only when the position changed;
 * - percent never goes down within an attempt;
 * - past `maxEvents`, the frequent kinds (position, progress, preview) are no longer recorded (the
 *   lifecycle events and outputs always are).
 */
import type { FeedInput, FeedOrigin } from "./events.ts";

export interface FeedState {
  status: "queued" | "running" | "ended";
  attempt: number;
  percent: number | null;
  position: number | null;
  /** Events recorded so far. */
  count: number;
}

const FREQUENT = new Set<FeedInput["type"]>(["job.position", "job.progress", "job.preview"]);

/** The events to record for `input` (possibly none) and the state after them. */
export function admit(state: FeedState | undefined, input: FeedInput, origin: FeedOrigin, maxEvents: number): { state: FeedState; record: FeedInput[] } {
  const record: FeedInput[] = [];
  let s: FeedState = state ?? { status: "queued", attempt: 0, percent: null, position: null, count: 0 };
  if (!state && !(input.type === "job.queued" && input.reason === "submitted")) {
    record.push({ type: "job.queued", attempt: 0, reason: "submitted", at: origin.createdAt });
    s = { ...s, count: 1 };
  }
  const next = step(s, input, maxEvents);
  if (next) {
    record.push(next.event);
    s = { ...next.state, count: s.count + 1 };
  }
  return { state: s, record };
}

function step(s: FeedState, input: FeedInput, maxEvents: number): { state: FeedState; event: FeedInput } | undefined {
  if (s.status === "ended") return undefined;
  if (FREQUENT.has(input.type) && s.count >= maxEvents) return undefined;
  switch (input.type) {
    case "job.queued":
      // The submit's own event only opens a new feed; a retry reopens the queue after a run.
      if (input.reason === "submitted" ? s.count > 0 : s.status !== "running") return undefined;
      return { state: { ...s, status: "queued", attempt: input.attempt, percent: null, position: null }, event: input };
    case "job.position":
      if (s.status !== "queued" || s.position === input.position) return undefined;
      return { state: { ...s, position: input.position }, event: input };
    case "job.running":
      if (s.status === "running" && input.attempt <= s.attempt) return undefined;
      return { state: { ...s, status: "running", attempt: input.attempt, percent: null, position: null }, event: input };
    case "job.progress": {
      if (s.status !== "running" || input.attempt !== s.attempt) return undefined;
      const percent = input.percent === null ? s.percent : Math.min(100, Math.max(input.percent, s.percent ?? 0));
      return { state: { ...s, percent }, event: { ...input, percent } };
    }
    case "job.preview":
    case "job.output":
      if (s.status !== "running" || input.attempt !== s.attempt) return undefined;
      return { state: s, event: input };
    default:
      return { state: { ...s, status: "ended", attempt: Math.max(s.attempt, input.attempt) }, event: input };
  }
}
