/**
 * Start and finish estimates for a pool's jobs (issue 15; docs/watching.md explains the model).
 * Pure: the Dispatcher gives the hosts as they are now and the pool's recent service time.
 *
 * The model is the Dispatcher's own rules played forward. Each host runs `slots` prompts at a time
 * and holds up to `dispatchSlots` jobs (running plus prefetched ones waiting for a GPU slot). A
 * queued job is dispatched (it "starts": `started_at`) when a host has a free dispatch slot, which
 * happens whenever one of its held jobs releases the GPU. Every job occupies a GPU for
 * `serviceMs` (the pool's recent mean execution time); one already executing for `elapsed` ms has
 * `serviceMs - elapsed` left (at least 0). Jobs leave the queue in queue-position order, and a
 * job finishes `tailMs` (the recent mean upload time) after its GPU release.
 */

export interface HostTimeline {
  /** Prompts it executes at once. */
  slots: number;
  /** Jobs it holds at once (running and prefetched), src/dispatch/policy.ts freeSlots. */
  dispatchSlots: number;
  /** How long each job it holds (GPU not yet released) has been dispatched, oldest first. */
  heldElapsedMs: number[];
}

export interface Estimate {
  /** From now until it is dispatched. */
  startMs: number;
  /** From now until it ends (undefined: the pool has no history yet). */
  finishMs: number | undefined;
}

/** Simulated jobs beyond this position get no estimate (the loop stays bounded). */
export const MAX_ESTIMATED_POSITION = 20_000;

/** Estimates for the next `count` queued jobs (index k: queue position k, k jobs ahead) and for every held job of every host. */
export function estimateQueue(
  hosts: readonly HostTimeline[],
  serviceMs: number | undefined,
  tailMs: number,
  count: number,
): { queued: Estimate[]; held: (number | undefined)[][] } | undefined {
  if (hosts.length === 0) return undefined;
  const n = Math.min(count, MAX_ESTIMATED_POSITION);
  if (serviceMs === undefined) {
    // No history: only the jobs that free dispatch slots take now can be told when they start.
    const free = hosts.reduce((sum, h) => sum + Math.max(0, h.dispatchSlots - h.heldElapsedMs.length), 0);
    const queued = Array.from({ length: Math.min(n, free) }, () => ({ startMs: 0, finishMs: undefined }));
    return { queued, held: hosts.map((h) => h.heldElapsedMs.map(() => undefined)) };
  }
  const servers = hosts.map((h) => new MinHeap(Array.from({ length: Math.max(1, h.slots) }, () => 0)));
  const openings = new MinHeap<[number, number]>([], (a, b) => a[0] - b[0] || a[1] - b[1]);
  const held = hosts.map((h, i) => {
    const s = servers[i]!;
    return h.heldElapsedMs.map((elapsed, k) => {
      // The oldest `slots` held jobs are executing; the others wait behind them, in order.
      const free = s.pop() ?? 0;
      const release = k < Math.max(1, h.slots) ? Math.max(0, serviceMs - elapsed) : free + serviceMs;
      s.push(release);
      openings.push([release, i]);
      return release + tailMs;
    });
  });
  hosts.forEach((h, i) => {
    for (let k = h.heldElapsedMs.length; k < h.dispatchSlots; k++) openings.push([0, i]);
  });
  const queued: Estimate[] = [];
  for (let k = 0; k < n; k++) {
    const open = openings.pop();
    if (!open) break;
    const [at, i] = open;
    const s = servers[i]!;
    const release = Math.max(at, s.pop()!) + serviceMs;
    s.push(release);
    openings.push([release, i]);
    queued.push({ startMs: at, finishMs: release + tailMs });
  }
  return { queued, held };
}

/** A binary min-heap (the simulation pops the earliest time again and again). */
class MinHeap<T = number> {
  private readonly items: T[] = [];
  private readonly less: (a: T, b: T) => number;

  constructor(items: T[], less: (a: T, b: T) => number = (a, b) => (a as number) - (b as number)) {
    this.less = less;
    for (const x of items) this.push(x);
  }

  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
