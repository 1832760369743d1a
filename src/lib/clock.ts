/**
 * Where the Durable Objects read the time. Production uses the system clock; tests give an object
 * a clock they move (test/support/clock.ts), so leases, windows and deadlines expire without
 * sleeping and without rewriting the object's tables.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Alarms run on wall time: the wall-clock moment at which `clock` will read `at`. With the system
 * clock this is `at` itself.
 */
export function wallTimeOf(clock: Clock, at: number): number {
  return Date.now() + (at - clock.now());
}
