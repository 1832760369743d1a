/**
 * Where one request's time goes, step by step: each step's duration in ms, for the structured log
 * line of the request and its `Server-Timing` header (RFC-less but universal: browsers' devtools
 * and the benchmarks read it). In workerd the clock moves only while I/O is awaited, so a step is
 * the time of the I/O it waits for; the CPU work between steps shows in `total` alone.
 */
export class Spans {
  private readonly startedAt = Date.now();
  private readonly steps: Array<[string, number]> = [];

  /** Awaits `work` and records how long it took under `name` (also when it throws). */
  async time<T>(name: string, work: Promise<T>): Promise<T> {
    const from = Date.now();
    try {
      return await work;
    } finally {
      this.steps.push([name, Date.now() - from]);
    }
  }

  /** The steps so far and `total` (since the start), as log fields. */
  fields(): Record<string, number> {
    return { ...Object.fromEntries(this.steps), total: Date.now() - this.startedAt };
  }

  /** `Server-Timing: name;dur=ms, …, total;dur=ms`. */
  header(): string {
    return Object.entries(this.fields())
      .map(([name, ms]) => `${name};dur=${ms}`)
      .join(", ");
  }
}
