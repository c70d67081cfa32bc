/**
 * The I/O shell of queue.health.ts: keeps each destination's health from the
 * attempts the dispatcher reports, looks at the clock every few seconds (a
 * streak may cross the time threshold between two retries), and tells the
 * rest of the edge when a queue becomes stuck or recovers ("queue.health":
 * alerts, the UI's live stream). State lives in memory: after a restart a
 * queue still failing is reported again once it crosses a threshold again.
 */
import type { Clock } from "../clock.js";
import type { EdgeEvents } from "../events.js";
import type { Logger } from "../logger.js";
import { type AttemptOutcome, HEALTHY, type LastFailure, type QueueHealth, type StuckThresholds, onAttempt, onTick } from "./queue.health.js";

/** What the dispatcher reports of each attempt it records. */
export interface AttemptNote extends LastFailure {
  destinationId: string;
  endpointId: string;
  outcome: AttemptOutcome;
}

/** The queue monitor. */
export type QueueMonitor = ReturnType<typeof createQueueMonitor>;

/** How often the clock is looked at (ms). */
export const MONITOR_TICK_MS = 5_000;

/** Creates the monitor; start() begins its clock checks. */
export function createQueueMonitor(deps: { clock: Clock; events: EdgeEvents; log: Logger; thresholds: StuckThresholds; tickMs?: number }) {
  const { clock, events, log, thresholds } = deps;
  const health = new Map<string, { endpointId: string; h: QueueHealth }>();
  let timer: NodeJS.Timeout | undefined;

  const apply = (
    destinationId: string,
    endpointId: string,
    next: { health: QueueHealth; change: "stuck" | "recovered" | undefined },
    before: QueueHealth,
  ): void => {
    if (next.health === HEALTHY) health.delete(destinationId);
    else health.set(destinationId, { endpointId, h: next.health });
    if (!next.change) return;
    const h = next.change === "recovered" ? before : next.health;
    log.info(
      { destinationId, endpointId, change: next.change, attempts: h.attempts },
      next.change === "stuck" ? "a queue is stuck: its deliveries keep failing" : "a stuck queue delivers again",
    );
    events.emit("queue.health", { destinationId, endpointId, change: next.change, health: h, at: clock.now() });
  };

  const tick = (): void => {
    const now = clock.now();
    for (const [destinationId, { endpointId, h }] of [...health]) apply(destinationId, endpointId, onTick(h, thresholds, now), h);
  };

  return {
    /** One recorded attempt (the dispatcher calls it after the attempt is written). */
    attempted(a: AttemptNote): void {
      const before = health.get(a.destinationId)?.h ?? HEALTHY;
      apply(a.destinationId, a.endpointId, onAttempt(before, a.outcome, a, thresholds), before);
    },
    /** A destination was deleted: forget it. */
    forget(destinationId: string): void {
      health.delete(destinationId);
    },
    /** One destination's health (HEALTHY when nothing fails). */
    of(destinationId: string): QueueHealth {
      return health.get(destinationId)?.h ?? HEALTHY;
    },
    /** Looks at the clock now (tests with a moved clock call this). */
    tick,
    start(): void {
      timer = setInterval(tick, deps.tickMs ?? MONITOR_TICK_MS);
      timer.unref();
    },
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}
