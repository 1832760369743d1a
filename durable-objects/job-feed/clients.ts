/**
 * The open event streams of one job. Each client remembers the last event id it was sent, so a
 * delivery pass (which reads the feed's stored events after the oldest of those) sends every
 * client exactly the events it has not had, in id order, whether it just connected with a
 * `Last-Event-ID` or has been following along: replay and live delivery are the same code.
 *
 * A client that stops reading is dropped once MAX_PENDING writes wait for it (it reconnects with
 * `Last-Event-ID` and catches up from storage); memory per stream stays bounded.
 */
import { sseComment } from "../../src/feed/sse.ts";

const MAX_PENDING = 256;

export class Client {
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Origin of the signed URLs this client's events carry. */
  readonly urlOrigin: string;
  readonly deadline: number;
  lastSent: number;
  private pending = 0;
  closed = false;
  private readonly onGone: (c: Client) => void;

  constructor(opts: { writer: WritableStreamDefaultWriter<Uint8Array>; urlOrigin: string; after: number; deadline: number; onGone: (c: Client) => void }) {
    this.writer = opts.writer;
    this.urlOrigin = opts.urlOrigin;
    this.lastSent = opts.after;
    this.deadline = opts.deadline;
    this.onGone = opts.onGone;
  }

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.pending >= MAX_PENDING) {
      this.abort();
      return;
    }
    this.pending++;
    this.writer.write(bytes).then(
      () => this.pending--,
      () => this.abort(),
    );
  }

  /** Ends the stream normally (after the terminal event, or at the stream's time limit). */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.close().catch(() => {});
    this.onGone(this);
  }

  /** The client went away or cannot keep up. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.abort().catch(() => {});
    this.onGone(this);
  }

  keepAlive(): void {
    this.send(sseComment("keep-alive"));
  }
}
