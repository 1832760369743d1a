/**
 * Read a response body into memory, counting the bytes the runtime hands us (already decoded, so
 * a gzip/brotli bomb is counted at its inflated size) and stopping the moment the count passes the
 * cap or the signal aborts. `Content-Length` is checked separately by the caller; this is what
 * holds when the header is absent, chunked, or lying.
 *
 * Invariant: never holds more than `maxBytes` plus one chunk in memory, and always cancels the
 * stream when it stops early so the connection is released.
 */

export type ReadResult = { ok: true; bytes: Uint8Array<ArrayBuffer> } | { ok: false; reason: "too-large" } | { ok: false; reason: "aborted" };

export async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number, signal: AbortSignal): Promise<ReadResult> {
  if (!body) return { ok: true, bytes: new Uint8Array(0) };
  if (signal.aborted) {
    await body.cancel().catch(() => {});
    return { ok: false, reason: "aborted" };
  }
  const reader = body.getReader();
  // A read that never resolves (a stalled trickle) must still end at the deadline, so every read
  // races the abort signal instead of relying on the runtime to error the stream.
  let onAbort: () => void = () => {};
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
  });
  const chunks: Uint8Array[] = [];
  let total = 0;
  let finished = false;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), aborted]);
      if (next === "aborted") return { ok: false, reason: "aborted" };
      if (next.done) {
        finished = true;
        break;
      }
      total += next.value.byteLength;
      if (total > maxBytes) return { ok: false, reason: "too-large" };
      chunks.push(next.value);
    }
  } catch (err) {
    if (signal.aborted) return { ok: false, reason: "aborted" };
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!finished) reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return { ok: true, bytes };
}
