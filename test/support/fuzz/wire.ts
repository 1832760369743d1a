/**
 * A request as the fuzzer sends it and a response as the oracle reads it, independent of the
 * transport: workerd's in-process fetch (test/worker/fuzz.test.ts) or an HTTP socket (bench/fuzz.ts).
 */

export interface WireRequest {
  method: string;
  /** Path and query, percent-encoded ASCII, sent as they are (no normalisation). */
  target: string;
  headers: [string, string][];
  body?: string | Uint8Array;
}

export interface WireResponse {
  status: number;
  /** Lower-case header name → value. */
  headers: Record<string, string>;
  /** The body text (a prefix for big bodies; empty for event streams, which are not read). */
  text: string;
}

export type Send = (req: WireRequest) => Promise<WireResponse>;

/** How much of a response body the oracle reads: all of any problem document (some echo a long path). */
export const BODY_READ_CAP = 16 * 1024 * 1024;

/**
 * Reads a fetch Response the way both transports must: event streams are cancelled unread (they
 * stay open while the job lives), other bodies read up to BODY_READ_CAP.
 */
export async function readResponse(res: Response): Promise<WireResponse> {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  let text = "";
  if (res.body) {
    if ((headers["content-type"] ?? "").startsWith("text/event-stream")) {
      await res.body.cancel();
    } else {
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let read = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        read += value.length;
        text += decoder.decode(value, { stream: true });
        if (read >= BODY_READ_CAP) {
          await reader.cancel();
          break;
        }
      }
      text += decoder.decode();
    }
  }
  return { status: res.status, headers, text };
}

export interface JsonCall {
  token?: string;
  user?: string;
  body?: unknown;
  headers?: [string, string][];
  /** Statuses that count as success (default 200, 201, 202). */
  ok?: number[];
}

/** A JSON call for the fixture setup (never fuzzed): throws unless the status is one of `ok`. */
export async function callJson<T>(send: Send, method: string, target: string, call: JsonCall = {}): Promise<T> {
  const headers: [string, string][] = [...(call.headers ?? [])];
  if (call.token) headers.push(["Authorization", `Bearer ${call.token}`]);
  if (call.user) headers.push(["X-User-ID", call.user]);
  if (call.body !== undefined) headers.push(["Content-Type", "application/json"]);
  const res = await send({ method, target, headers, ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}) });
  if (!(call.ok ?? [200, 201, 202]).includes(res.status)) throw new Error(`fixture ${method} ${target}: ${res.status} ${res.text.slice(0, 300)}`);
  return (res.text ? JSON.parse(res.text) : {}) as T;
}
