/**
 * Shutdown and crash of the emulated process, and the only way code in it waits.
 *
 * Every wait goes through `sleep`, which rejects with `EmulatorStopped` once the emulator is
 * closed or has crashed; the prompt worker lets that unwind everything without writing history
 * or sending events, as a dead process would.
 */

export class EmulatorStopped extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "EmulatorStopped";
  }
}

export class Lifecycle {
  private readonly controller = new AbortController();
  private crashHandler: ((exitCode: number) => void) | undefined;
  crashed: number | undefined;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  onCrash(handler: (exitCode: number) => void): void {
    this.crashHandler = handler;
  }

  stop(reason = "emulator closed"): void {
    if (!this.stopped) this.controller.abort(new EmulatorStopped(reason));
  }

  /** The emulated process dies: stop everything, tell the owner, unwind the caller. */
  crash(exitCode: number): never {
    if (this.crashed === undefined) {
      this.crashed = exitCode;
      this.stop(`crashed with exit code ${exitCode}`);
      this.crashHandler?.(exitCode);
    }
    throw new EmulatorStopped(`crashed with exit code ${exitCode}`);
  }

  throwIfStopped(): void {
    if (this.stopped) throw new EmulatorStopped("emulator stopped");
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(new EmulatorStopped("emulator stopped"));
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(new EmulatorStopped("emulator stopped"));
      };
      const timer = setTimeout(() => {
        this.signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      this.signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
