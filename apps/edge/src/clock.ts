/**
 * Time as the edge sees it. Injected so tests can move it (backoff, 7-day
 * dead-lettering, ±5 min windows) without waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
