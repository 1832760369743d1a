/**
 * Server-Sent Events framing (WHATWG HTML §9.2): `id`, `event` and one `data` line per event,
 * a blank line after each; comments start with `:`. Data is JSON on one line, so it never holds a
 * newline that would split it.
 */
const encoder = new TextEncoder();

export function sseEvent(id: number, type: string, data: unknown): Uint8Array {
  return encoder.encode(`id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
}

export function sseComment(text: string): Uint8Array {
  return encoder.encode(`: ${text.replaceAll("\n", " ")}\n\n`);
}

/** How long a client waits before reconnecting (EventSource's `retry`). */
export function sseRetry(ms: number): Uint8Array {
  return encoder.encode(`retry: ${Math.round(ms)}\n\n`);
}

/**
 * The id a client resumes after: the `Last-Event-ID` header (what EventSource sends when it
 * reconnects) or the `last_event_id` query parameter (for the first connection of clients that
 * cannot set headers). Undefined: from the start; null: not an id this API produced.
 */
export function resumeAfter(header: string | undefined, query: string | undefined): number | undefined | null {
  const raw = header ?? query;
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) return null;
  return Number(raw.trim());
}
