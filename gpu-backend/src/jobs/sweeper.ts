/**
 * Removes what jobs left behind in ComfyUI's folders: a host that crashed mid-job, a file a node
 * wrote after we looked, a cleanup that failed. Runs once at start and every SWEEP_INTERVAL_MS
 * over the per-job roots (`<input|output|temp>/saas/*`) and the root of `temp/` (previews).
 *
 * An entry goes when its newest modification is older than MAX_JOB_DEADLINE_MS (no job runs
 * longer, so nothing still being written is that old) and no job this host holds owns it — its
 * namespace folder or a file its prompt reported — however old it looks. Nothing outside those
 * folders is touched (an operator's files at the top of `input/` or `output/` stay).
 */
import { lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ComfyDirs } from "../config.ts";
import type { Logger } from "../log.ts";
import { inside, jobRoots } from "./files.ts";
import { NAMESPACE_ROOT } from "./workflow.ts";

/** What held jobs own: namespace folder names (`saas/<x>`) and absolute file paths. */
export interface Held {
  namespaces: ReadonlySet<string>;
  files: ReadonlySet<string>;
}

export interface SweepResult {
  removed: string[];
  failed: number;
}

const MAX_WALK_ENTRIES = 10_000;

export class Sweeper {
  private readonly dirs: ComfyDirs;
  private readonly maxAgeMs: number;
  private readonly intervalMs: number;
  private readonly held: () => Held;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult> | undefined;

  constructor(opts: { dirs: ComfyDirs; maxAgeMs: number; intervalMs: number; held: () => Held; log: Logger }) {
    this.dirs = opts.dirs;
    this.maxAgeMs = opts.maxAgeMs;
    this.intervalMs = opts.intervalMs;
    this.held = opts.held;
    this.log = opts.log;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass (concurrent calls share it). */
  sweep(now = Date.now()): Promise<SweepResult> {
    this.running ??= this.sweepOnce(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepOnce(now: number): Promise<SweepResult> {
    const result: SweepResult = { removed: [], failed: 0 };
    const cutoff = now - this.maxAgeMs;
    const remove = async (path: string) => {
      try {
        await rm(path, { recursive: true, force: true });
        result.removed.push(path);
      } catch (err) {
        result.failed++;
        this.log.warn("sweep_remove_failed", { path, error: err as Error });
      }
    };
    // Per-job roots: each entry is one job's namespace folder.
    for (const root of jobRoots(this.dirs)) {
      for (const name of await list(root)) {
        const held = this.held();
        if (held.namespaces.has(`${NAMESPACE_ROOT}/${name}`)) continue;
        const path = join(root, name);
        if ((await newestChange(path)) < cutoff) await remove(path);
      }
    }
    // The root of temp/: previews and anything else written there.
    for (const name of await list(this.dirs.temp)) {
      if (name === NAMESPACE_ROOT) continue;
      const path = join(this.dirs.temp, name);
      const held = this.held();
      if ([...held.files].some((f) => f === path || inside(f, path))) continue;
      if ((await newestChange(path)) < cutoff) await remove(path);
    }
    if (result.removed.length > 0 || result.failed > 0) this.log.info("sweep_done", { removed: result.removed.length, failed: result.failed });
    return result;
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Newest mtime of the entry and everything below it (symlinks not followed); Infinity when unreadable. */
async function newestChange(path: string): Promise<number> {
  let newest = -Infinity;
  let seen = 0;
  const stack = [path];
  while (stack.length > 0) {
    const p = stack.pop()!;
    let st;
    try {
      st = await lstat(p);
    } catch {
      continue; // removed meanwhile
    }
    newest = Math.max(newest, st.mtimeMs);
    if (++seen > MAX_WALK_ENTRIES) return Infinity; // too big to judge: leave it for a human
    if (st.isDirectory()) for (const name of await list(p)) stack.push(join(p, name));
  }
  return newest === -Infinity ? Infinity : newest;
}
