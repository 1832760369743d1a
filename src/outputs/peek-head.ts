/**
 * Reads the first bytes of an upload without consuming it: returns them (for sniffing the
 * output's type before R2 is told its Content-Type) and a stream that replays them followed by
 * the rest, untouched and in order.
 *
 * Invariant: at most `limit` bytes plus one chunk are held at once, whatever the body's size: the
 * rest flows straight through (pull-based, so R2's pace sets how fast it is read). A video is
 * never buffered whole.
 */

export interface Peeked {
  /** The first `limit` bytes (fewer when the body is shorter). */
  head: Uint8Array;
  /** True when the body ended within the head: `head` is the whole body. */
  ended: boolean;
  /** The whole body again: the head's chunks, then whatever was not yet read. */
  body: ReadableStream<Uint8Array>;
}

export async function peekHead(source: ReadableStream<Uint8Array>, limit: number): Promise<Peeked> {
  const reader = source.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  while (size < limit) {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const head = new Uint8Array(Math.min(size, limit));
  let at = 0;
  for (const c of chunks) {
    if (at >= head.length) break;
    const part = c.subarray(0, head.length - at);
    head.set(part, at);
    at += part.length;
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      if (ended) controller.close();
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { head, ended, body };
}
