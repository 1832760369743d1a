// Reads a Server-Sent Events stream event by event, for tests and benchmarks (workerd and Node
// alike: web streams only), with the client's own parser (packages/client/src/sse.ts). Every wait
// is bounded; a comment line is counted, never returned.
import { SseParser } from "../../packages/client/src/sse.ts";

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, any>;
  /** performance.now() when the event's last line arrived. */
  receivedAt: number;
}

export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly parser = new SseParser();
  private readonly ready: SseEvent[] = [];
  private done = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  get comments(): number {
    return this.parser.comments;
  }

  get retryMs(): number | undefined {
    return this.parser.retryMs;
  }

  /** The next event, or undefined when the stream ended; throws after `timeoutMs`. */
  async next(timeoutMs = 20_000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ev = this.ready.shift();
      if (ev) return ev;
      if (this.done) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE event within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<"timeout">((r) => {
          timer = setTimeout(() => r("timeout"), left);
        }),
      ]);
      // Node's and workerd's typings of clearTimeout differ; the value is the one setTimeout gave.
      clearTimeout(timer as Parameters<typeof clearTimeout>[0]);
      if (chunk === "timeout") throw new Error(`no SSE event within ${timeoutMs} ms`);
      if (chunk.done) {
        this.done = true;
        continue;
      }
      const receivedAt = performance.now();
      for (const m of this.parser.push(chunk.value)) {
        if (m.id === undefined) throw new Error(`an SSE event without id: ${m.event}`);
        this.ready.push({ id: Number(m.id), event: m.event, data: JSON.parse(m.data) as Record<string, any>, receivedAt });
      }
    }
  }

  /** Every event until the stream ends (bounded by `max` events). */
  async rest(max = 10_000, timeoutMs = 20_000): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    for (let i = 0; i < max; i++) {
      const ev = await this.next(timeoutMs);
      if (!ev) return out;
      out.push(ev);
    }
    throw new Error(`more than ${max} events`);
  }

  /** Events up to and including the first of `type`. */
  async until(type: string, max = 1_000, timeoutMs = 20_000): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    for (let i = 0; i < max; i++) {
      const ev = await this.next(timeoutMs);
      if (!ev) throw new Error(`the stream ended before ${type}`);
      out.push(ev);
      if (ev.event === type) return out;
    }
    throw new Error(`no ${type} within ${max} events`);
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}
