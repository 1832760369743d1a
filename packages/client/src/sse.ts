/**
 * An incremental Server-Sent Events parser (WHATWG HTML §9.2): feed it text as it arrives, take the
 * complete events. Comments (`: …`) are counted, `retry:` is remembered; fields are split on the
 * first colon and one leading space is dropped, as the spec says.
 */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private readonly decoder = new TextDecoder();
  comments = 0;
  retryMs: number | undefined;
  lastEventId: string | undefined;

  /** Adds bytes (or text) and returns the events they completed. */
  push(chunk: Uint8Array | string): SseMessage[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    // Line ends may be CRLF, LF or CR.
    this.buffer = this.buffer.replace(/\r\n?/g, "\n");
    const out: SseMessage[] = [];
    for (;;) {
      const at = this.buffer.indexOf("\n\n");
      if (at < 0) return out;
      const block = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 2);
      const message = this.parse(block);
      if (message) out.push(message);
    }
  }

  private parse(block: string): SseMessage | undefined {
    let event = "message";
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "") continue;
      if (line.startsWith(":")) {
        this.comments++;
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id" && !value.includes("\0")) id = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    if (id !== undefined) this.lastEventId = id;
    if (data.length === 0) return undefined;
    return { id, event, data: data.join("\n") };
  }
}
