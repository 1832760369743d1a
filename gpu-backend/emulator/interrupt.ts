/**
 * ComfyUI's global interrupt flag (comfy.model_management).
 *
 * `/interrupt` sets it; it is checked only before a node starts and inside progress callbacks
 * (and by nodes that poll it), and checking it clears it. Each prompt clears it when it starts,
 * so an interrupt sent while idle is lost.
 */

export class InterruptProcessingException extends Error {
  constructor() {
    super("Processing interrupted");
    this.name = "InterruptProcessingException";
  }
}

export class InterruptFlag {
  private set = false;

  raise(): void {
    this.set = true;
  }

  clear(): void {
    this.set = false;
  }

  isSet(): boolean {
    return this.set;
  }

  /** `throw_exception_if_processing_interrupted()`: consumes the flag. */
  throwIfSet(): void {
    if (!this.set) return;
    this.set = false;
    throw new InterruptProcessingException();
  }
}
