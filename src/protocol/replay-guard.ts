/**
 * Remembers token ids (JWT `jti`, webhook ids) until they expire, so a captured request cannot be
 * replayed inside its validity window. In memory, bounded: when full of live entries it refuses new
 * ones (fail closed) rather than forgetting one that could then be replayed.
 */
export interface ReplayGuard {
  /** True if `id` is new (and now remembered until `expiresAtMs`); false for a replay or when full. */
  claim(id: string, expiresAtMs: number, nowMs?: number): boolean;
}

export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();
  private readonly maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.maxEntries = maxEntries;
  }

  claim(id: string, expiresAtMs: number, nowMs = Date.now()): boolean {
    const known = this.seen.get(id);
    if (known !== undefined && known > nowMs) return false;
    if (this.seen.size >= this.maxEntries) this.prune(nowMs);
    if (this.seen.size >= this.maxEntries) return false;
    this.seen.set(id, expiresAtMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(nowMs: number): void {
    for (const [id, exp] of this.seen) if (exp <= nowMs) this.seen.delete(id);
  }
}
