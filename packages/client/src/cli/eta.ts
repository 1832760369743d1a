/**
 * Time left for a running job, from the rate its overall percent has grown at since the first
 * progress of the attempt (the first figure can jump ahead — cached nodes, the weight of the nodes
 * before the sampler — so it is the baseline, not a measurement). Undefined until there is a rate.
 */
const MIN_SPAN_MS = 300;

interface Sample {
  percent: number;
  at: number;
}

export class Eta {
  private first: Sample | undefined;
  private last: Sample | undefined;

  /** A new attempt: forget the rate. */
  reset(): void {
    this.first = undefined;
    this.last = undefined;
  }

  sample(percent: number | null, at = Date.now()): void {
    if (percent === null) return;
    if (!this.first || percent < this.first.percent) this.first = { percent, at };
    this.last = { percent, at };
  }

  /** Seconds left at `now`, counting down between samples. */
  seconds(now = Date.now()): number | undefined {
    const { first, last } = this;
    if (!first || !last || last.percent <= first.percent || last.at - first.at < MIN_SPAN_MS || last.percent >= 100) return undefined;
    const perMs = (last.percent - first.percent) / (last.at - first.at);
    return Math.max(0, ((100 - last.percent) / perMs - (now - last.at)) / 1000);
  }
}
