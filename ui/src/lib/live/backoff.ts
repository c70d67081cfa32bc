import { backoffDelay } from "@hookly/proto/backoff";

/** Reconnect delays of the event stream: doubling from 0.5 s up to 30 s. */
export const RECONNECT_BACKOFF = { initialMs: 500, maxMs: 30_000 } as const;

/**
 * The wait before reconnect number `failures` (1-based), drawn from the upper half of the
 * current step ("equal" jitter of the shared backoff) so that many tabs do not reconnect in
 * step after an edge restart.
 */
export function backoff(failures: number, random: () => number = Math.random): number {
  return backoffDelay({ ...RECONNECT_BACKOFF, attempt: failures, jitter: { kind: "equal", random } });
}
