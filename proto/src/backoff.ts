/**
 * Capped exponential backoff: the one convention behind every wait before
 * "try again" in Hookly — a delivery's retry (edge), the Telegram alert
 * sender (edge), the dispatcher after a storage fault (edge), the hub's
 * reconnect and the UI's live-stream reconnect. Pure: the caller counts the
 * attempts and injects the randomness.
 */

/** The two numbers of a schedule. */
export interface BackoffSchedule {
  /** Wait before attempt 1 (ms). */
  initialMs: number;
  /** Longest wait (ms); wins over `initialMs` when smaller. */
  maxMs: number;
}

/**
 * Spreads the waits so many clients that failed together do not all come back
 * together. `random` returns a number in [0, 1) (Math.random, or a seeded one in tests).
 * - `full`: anywhere in [0, delay), rounded down (the hub: one process, any wait will do).
 * - `equal`: in the upper half, [delay/2, delay], rounded (the UI: never hammers, still spread).
 */
export interface BackoffJitter {
  kind: "full" | "equal";
  random: () => number;
}

/**
 * Beyond this many doublings the cap has long been reached (2^40 ms is 35
 * years), so the power is clamped here and never overflows, however many
 * attempts are counted.
 */
export const MAX_DOUBLINGS = 40;

/**
 * The wait before `attempt` (1-based: the first try again is attempt 1):
 * `initialMs · 2^(attempt−1)`, capped at `maxMs`. Attempt 1 (or anything
 * below it) waits `initialMs`; each further attempt doubles it. With `jitter`,
 * the result is drawn from within that wait, never above it.
 */
export function backoffDelay(options: BackoffSchedule & { attempt: number; jitter?: BackoffJitter }): number {
  const { initialMs, maxMs, attempt, jitter } = options;
  const doublings = Math.min(Math.max(attempt - 1, 0), MAX_DOUBLINGS);
  const delay = Math.min(initialMs * 2 ** doublings, maxMs);
  if (!jitter) return delay;
  if (jitter.kind === "full") return Math.floor(jitter.random() * delay);
  return Math.round(delay / 2 + (jitter.random() * delay) / 2);
}
