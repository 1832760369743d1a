/**
 * The slot model: how many jobs this host takes, and how many it reports free.
 *
 * capacity = SLOTS + PREFETCH. Every held job is prepared (inputs fetched and uploaded) and
 * queued in ComfyUI as soon as it is accepted, so while one prompt executes the next one is
 * already waiting in ComfyUI's own queue and starts with no gap beyond ComfyUI's. ComfyUI runs
 * one prompt at a time, which is why SLOTS defaults to 1; PREFETCH is what keeps the GPU busy.
 * A job whose prompt is over and that is only reporting its result to the edge no longer holds a
 * slot. A draining host reports no free slot.
 */
export interface SlotView {
  capacity: number;
  /** Jobs occupying a slot (preparing, queued, running or uploading). */
  busy: number;
  free: number;
}

export function slotView(cfg: { slots: number; prefetch: number }, busy: number, draining: boolean): SlotView {
  const capacity = cfg.slots + cfg.prefetch;
  return { capacity, busy, free: draining ? 0 : Math.max(0, capacity - busy) };
}
