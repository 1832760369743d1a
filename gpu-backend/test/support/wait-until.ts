// Waits (bounded) until `probe` finds something. The caller re-runs every function in `waiters`
// whenever its state changes, so the wait ends on the event itself rather than on a poll.
export function waitUntil<T>(waiters: Set<() => void>, probe: () => T | undefined, timeoutMs: number, what: string, seen: () => string): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = probe();
      if (found === undefined) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve(found);
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen()}`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}
