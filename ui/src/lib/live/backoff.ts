/** Reconnect delays of the event stream: doubling from 0.5 s up to 30 s. */
export const RECONNECT_BACKOFF = { initialMs: 500, maxMs: 30_000 } as const;

/**
 * The wait before reconnect number `failures` (1-based), drawn from the upper half of the
 * current step so that many tabs do not reconnect in step after an edge restart.
 */
export function backoff(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_BACKOFF.maxMs, RECONNECT_BACKOFF.initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
