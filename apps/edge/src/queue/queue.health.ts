/**
 * Is a queue stuck? (issue #13) A destination whose deliveries keep failing
 * transiently holds back everything behind them while the retries go on for
 * up to 7 days; an operator needs to hear about it while it is still
 * failing, not at the dead letter.
 *
 * Per destination, a streak: the transient failures since its last success
 * (or since a head left the queue for good). The queue is `stuck` once the
 * streak has lasted `afterMs` or counted `afterAttempts`; it `recovers` at the
 * destination's next delivered attempt. One stuck alert per incident: a head
 * that is skipped and followed by another failing one is the same incident
 * until something is delivered.
 *
 * Pure: events in, decisions out; the clock is passed in.
 */

/** When a failing queue counts as stuck. */
export interface StuckThresholds {
  /** STUCK_ALERT_AFTER_MS: a streak this long. */
  afterMs: number;
  /** STUCK_ALERT_AFTER_ATTEMPTS: or this many failed attempts in a row. */
  afterAttempts: number;
}

/** What the tracker knows of the last failed attempt of a streak. */
export interface LastFailure {
  webhookId: string;
  eventType: string | null;
  statusCode: number;
  error: string;
  responseExcerpt: string | null;
  at: number;
}

/** One destination's queue health. */
export interface QueueHealth {
  /** First failed attempt of the current streak; null when the last attempt succeeded (or none failed). */
  failingSince: number | null;
  /** Failed attempts in the streak. */
  attempts: number;
  last: LastFailure | null;
  /** Since when it counts as stuck (an alert was raised); null when not. */
  stuckSince: number | null;
}

/** A healthy queue. */
export const HEALTHY: QueueHealth = { failingSince: null, attempts: 0, last: null, stuckSince: null };

/** An attempt's outcome as the tracker sees it. */
export type AttemptOutcome = "delivered" | "retry" | "failed" | "dead_letter";

/** What changed: the queue just became stuck, or just recovered. */
export type HealthChange = "stuck" | "recovered" | undefined;

/** Whether a failing streak has crossed a threshold by `now`. */
function crossed(h: QueueHealth, t: StuckThresholds, now: number): boolean {
  if (h.failingSince === null) return false;
  return now - h.failingSince >= t.afterMs || h.attempts >= t.afterAttempts;
}

/**
 * Applies one attempt's outcome. `retry`: it failed and will be tried again
 * (the streak grows); `failed` / `dead_letter`: that delivery left the queue
 * for good (the streak ends, the incident does not); `delivered`: all is well
 * (a stuck queue recovers).
 */
export function onAttempt(h: QueueHealth, outcome: AttemptOutcome, failure: LastFailure, t: StuckThresholds): { health: QueueHealth; change: HealthChange } {
  if (outcome === "delivered") {
    return { health: HEALTHY, change: h.stuckSince !== null ? "recovered" : undefined };
  }
  if (outcome !== "retry") {
    // note: the queue moves on to the next webhook; a new streak starts with its first failure.
    return { health: { ...h, failingSince: null, attempts: 0, last: failure }, change: undefined };
  }
  const next: QueueHealth = { ...h, failingSince: h.failingSince ?? failure.at, attempts: h.attempts + 1, last: failure };
  if (next.stuckSince === null && crossed(next, t, failure.at)) return { health: { ...next, stuckSince: failure.at }, change: "stuck" };
  return { health: next, change: undefined };
}

/** The clock moved: a streak may cross the time threshold between two attempts (retries wait up to an hour). */
export function onTick(h: QueueHealth, t: StuckThresholds, now: number): { health: QueueHealth; change: HealthChange } {
  if (h.stuckSince === null && crossed(h, t, now)) return { health: { ...h, stuckSince: now }, change: "stuck" };
  return { health: h, change: undefined };
}
