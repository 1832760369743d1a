/**
 * `watch(id)`: a job's Server-Sent Events stream as an async iterator that resumes by itself. A
 * dropped connection (network error, a stream the server ended at its time limit, a 5xx) is
 * reopened with `Last-Event-ID` after the server's `retry` delay, so the caller sees every event
 * once, in order, until the terminal one. A `204` (the job ended and every event was seen) ends
 * it too; any other 4xx is an ApiError.
 */
import { ApiError, problemOf } from "./errors.ts";
import { defaultSleep } from "./retry.ts";
import type { components } from "./schema.ts";
import { SseParser } from "./sse.ts";

type S = components["schemas"];

/** One event of a job's stream: `type` names it, `data` is its schema's shape. */
export type JobStreamEvent =
  | { id: number; type: "job.queued"; data: S["JobQueuedEvent"] }
  | { id: number; type: "job.position"; data: S["JobPositionEvent"] }
  | { id: number; type: "job.running"; data: S["JobRunningEvent"] }
  | { id: number; type: "job.progress"; data: S["JobProgressEvent"] }
  | { id: number; type: "job.preview"; data: S["JobPreviewEvent"] }
  | { id: number; type: "job.output"; data: S["JobOutputEvent"] }
  | { id: number; type: "job.succeeded"; data: S["JobSucceededEvent"] }
  | { id: number; type: "job.failed"; data: S["JobFailedEvent"] }
  | { id: number; type: "job.cancelled"; data: S["JobCancelledEvent"] };

export const TERMINAL = new Set(["job.succeeded", "job.failed", "job.cancelled"]);

interface Transport {
  baseUrl: string;
  headers: Record<string, string>;
  fetch: (r: Request) => Promise<Response>;
}

/** Reconnects in a row without a new event before giving up (the last error is thrown). */
const MAX_SILENT_RECONNECTS = 8;

export async function* watchJob(t: Transport, id: string, opts: { lastEventId?: number; signal?: AbortSignal } = {}): AsyncGenerator<JobStreamEvent> {
  let last = opts.lastEventId;
  let retryMs = 1_000;
  let silent = 0;
  for (;;) {
    const headers: Record<string, string> = { ...t.headers, Accept: "text/event-stream", ...(last !== undefined ? { "Last-Event-ID": String(last) } : {}) };
    let progressed = false;
    try {
      const res = await t.fetch(
        new Request(`${t.baseUrl}/v1/jobs/${encodeURIComponent(id)}/events`, { headers, ...(opts.signal ? { signal: opts.signal } : {}) }),
      );
      if (res.status === 204) return;
      if (!res.ok) {
        if (res.status < 500) throw new ApiError(await problemOf(res));
        throw new Error(`the event stream answered ${res.status}`);
      }
      if (!res.body) throw new Error("the event stream has no body");
      const parser = new SseParser();
      const reader = res.body.getReader();
      try {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          for (const m of parser.push(chunk.value)) {
            const eventId = Number(m.id);
            if (!Number.isSafeInteger(eventId) || (last !== undefined && eventId <= last)) continue;
            last = eventId;
            progressed = true;
            const event = { id: eventId, type: m.event, data: JSON.parse(m.data) } as JobStreamEvent;
            yield event;
            if (TERMINAL.has(event.type)) return;
          }
        }
      } finally {
        reader.releaseLock();
        await res.body.cancel().catch(() => {});
      }
      retryMs = parser.retryMs ?? retryMs;
    } catch (err) {
      if (err instanceof ApiError || opts.signal?.aborted) throw err;
      if (++silent > MAX_SILENT_RECONNECTS) throw err;
      await defaultSleep(Math.min(30_000, retryMs * 2 ** Math.max(0, silent - 1)), opts.signal);
      continue;
    }
    // The stream ended without the terminal event (the server's time limit, a proxy): go on.
    silent = progressed ? 0 : silent + 1;
    if (silent > MAX_SILENT_RECONNECTS) throw new Error(`the event stream of job ${id} keeps ending without new events`);
    await defaultSleep(retryMs, opts.signal);
  }
}
