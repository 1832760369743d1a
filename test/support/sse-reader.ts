// Reads a Server-Sent Events stream event by event, for tests and benchmarks (workerd and Node
// alike: web streams only). Every wait is bounded; a comment line is counted, never returned.

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, any>;
  /** performance.now() when the event's last line arrived. */
  receivedAt: number;
}

export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = "";
  private done = false;
  comments = 0;
  retryMs: number | undefined;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  /** The next event, or undefined when the stream ended; throws after `timeoutMs`. */
  async next(timeoutMs = 20_000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const block = this.takeBlock();
      if (block !== undefined) {
        const ev = this.parse(block);
        if (ev) return ev;
        continue;
      }
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
      if (chunk.done) this.done = true;
      else this.buffer += this.decoder.decode(chunk.value, { stream: true });
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

  private takeBlock(): string | undefined {
    const at = this.buffer.indexOf("\n\n");
    if (at < 0) return undefined;
    const block = this.buffer.slice(0, at);
    this.buffer = this.buffer.slice(at + 2);
    return block;
  }

  private parse(block: string): SseEvent | undefined {
    let id: number | undefined;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        this.comments++;
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = Number(value);
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "retry") this.retryMs = Number(value);
    }
    if (data.length === 0) return undefined;
    if (id === undefined) throw new Error(`an SSE event without id: ${block}`);
    return { id, event, data: JSON.parse(data.join("\n")) as Record<string, any>, receivedAt: performance.now() };
  }
}
