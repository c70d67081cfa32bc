/**
 * The ordering logic of one destination's queue ("lane"), as a pure state
 * machine: no I/O, no clock, no database. The dispatcher (relay.service.ts)
 * feeds it what it reads and what the hub answers, and carries out what it
 * decides.
 *
 * A lane sends its pending deliveries to the hub in queue (seq) order, up to a
 * window of them at once (ordered pipelining). The hub forwards a lane's
 * deliveries one after another and, after a transient failure, answers
 * SKIPPED to every later delivery of the same epoch. The lane, on that
 * failure, schedules the retry, bumps its epoch and forgets what was in
 * flight behind it; when the retry is due it starts again from the failed
 * delivery. So delivery k+1 is never forwarded before k is delivered, failed
 * or dead-lettered.
 */
import { type BackoffSchedule, backoffDelay } from "@hookly/proto/backoff";
import type { Verdict } from "@hookly/proto/outcome";

/** A pending delivery as the lane needs it. */
export interface QueuedItem {
  /** Queue position (delivery seq). */
  seq: number;
  /** Attempts made so far. */
  attempts: number;
  /** Not dispatched before this time (ms). */
  nextAttemptAt: number;
  /** Pending past this time → dead letter (ms). */
  deliverBy: number;
  /** Body bytes, for the window's byte limit. */
  payloadSize: number;
}

/** One dispatch on its way to the hub. */
export interface Flight {
  dispatchId: string;
  seq: number;
  epoch: number;
  /** Attempt number this dispatch is (attempts + 1). */
  attempt: number;
  bytes: number;
  deliverBy: number;
}

/** A lane's state. */
export interface LaneState {
  /** Bumped whenever what is in flight becomes void. */
  epoch: number;
  /** Highest seq dispatched (or passed over) in this epoch; refills start after it. */
  cursor: number;
  /** In dispatch (= seq) order. */
  inflight: Map<string, Flight>;
  inflightBytes: number;
}

/** Window limits of a lane. */
export interface LaneLimits {
  /** Deliveries in flight at once (1 = one at a time). */
  window: number;
  /** Body bytes in flight at once; one delivery is always allowed, however big. */
  windowBytes: number;
}

/** Backoff settings (BACKOFF_INITIAL_MS, BACKOFF_MAX_MS): the shared schedule of proto/src/backoff.ts. */
export type BackoffPolicy = BackoffSchedule;

/** How the hub's answer is classified: the one classification both sides share (proto/src/outcome.ts). */
export type { Verdict };

/** A fresh lane. */
export function newLane(): LaneState {
  return { epoch: 1, cursor: 0, inflight: new Map(), inflightBytes: 0 };
}

/** Voids everything in flight: the next refill starts from the head under a new epoch. */
export function resetLane(lane: LaneState): Flight[] {
  const dropped = [...lane.inflight.values()];
  lane.inflight.clear();
  lane.inflightBytes = 0;
  lane.epoch += 1;
  lane.cursor = 0;
  return dropped;
}

/**
 * What to read for a refill: up to `limit` pending deliveries after `after`,
 * or undefined when the lane should not refill now.
 *
 * note: refills happen once an eighth of the window has drained, so one query
 * fetches many rows instead of one per result, and the hub keeps seven eighths
 * queued, so a long round trip does not starve it.
 */
export function refillRequest(lane: LaneState, limits: LaneLimits): { after: number; limit: number } | undefined {
  const slack = Math.max(1, Math.floor(limits.window / 8));
  if (lane.inflight.size > limits.window - slack) return undefined;
  if (lane.inflight.size > 0 && lane.inflightBytes >= limits.windowBytes) return undefined;
  return { after: lane.cursor, limit: limits.window - lane.inflight.size };
}

/** One step of a refill. */
export type RefillStep<T extends QueuedItem = QueuedItem> =
  /** Send it now; the shell calls markDispatched once sent (and stops at the first it cannot send). */
  | { kind: "dispatch"; item: T }
  /** Past its deadline: move it to dead_letter, then markPassed. */
  | { kind: "dead_letter"; item: T };

/** What a refill decided. */
export interface RefillPlan<T extends QueuedItem = QueuedItem> {
  /** In queue order; the shell applies them in this order. */
  steps: RefillStep<T>[];
  /** The head waits for its retry: pump again at this time. */
  wakeAt?: number;
  /** The batch was used up and the window has room: read again after applying this plan. */
  more: boolean;
}

/**
 * Decides what to do with a batch read after `refillRequest`. Only the head of
 * a lane can be waiting for a retry (nothing behind it was ever allowed to
 * overtake), so a waiting item stops the plan.
 */
export function planRefill<T extends QueuedItem>(lane: LaneState, limits: LaneLimits, batch: readonly T[], now: number): RefillPlan<T> {
  const plan: RefillPlan<T> = { steps: [], more: false };
  let count = lane.inflight.size;
  let bytes = lane.inflightBytes;
  for (const item of batch) {
    if (item.deliverBy <= now) {
      plan.steps.push({ kind: "dead_letter", item });
      continue;
    }
    if (item.nextAttemptAt > now) {
      plan.wakeAt = Math.min(item.nextAttemptAt, item.deliverBy);
      return plan;
    }
    if (count > 0 && bytes + item.payloadSize > limits.windowBytes) return plan;
    plan.steps.push({ kind: "dispatch", item });
    count += 1;
    bytes += item.payloadSize;
    if (count >= limits.window) return plan;
  }
  plan.more = batch.length > 0;
  return plan;
}

/** Records a dispatch the shell sent. */
export function markDispatched(lane: LaneState, item: QueuedItem, dispatchId: string): Flight {
  const f: Flight = { dispatchId, seq: item.seq, epoch: lane.epoch, attempt: item.attempts + 1, bytes: item.payloadSize, deliverBy: item.deliverBy };
  lane.inflight.set(dispatchId, f);
  lane.inflightBytes += f.bytes;
  lane.cursor = Math.max(lane.cursor, item.seq);
  return f;
}

/** Moves the cursor past an item that left the queue without a dispatch (dead-lettered). */
export function markPassed(lane: LaneState, seq: number): void {
  lane.cursor = Math.max(lane.cursor, seq);
}

/**
 * The wait before the next attempt after `attempts` tries: the shared backoff
 * (initial · 2^(attempts−1), capped; 0 attempts counts as 1). A Retry-After given
 * by the destination wins (capped at one day).
 */
export function retryDelayMs(attempts: number, policy: BackoffPolicy, retryAfterSeconds = 0): number {
  if (retryAfterSeconds > 0) return Math.min(retryAfterSeconds * 1000, 86_400_000);
  return backoffDelay({ ...policy, attempt: attempts });
}

/** What a result means for the lane. */
export type ResultDecision =
  /** Unknown dispatch, or from a void epoch: ignore it. */
  | { kind: "stale" }
  /** The hub would not overtake a failure the lane has not seen yet: everything is void, pump again at `wakeAt`. */
  | { kind: "restart"; wakeAt: number }
  /** Delivered or failed for good: record it; the lane goes on. */
  | { kind: "settle"; flight: Flight; status: "delivered" | "failed" }
  /**
   * Not this time: record the attempt and retry at `nextAttemptAt`; everything
   * behind it is void (the lane was reset) and it is the new head. `held` when
   * the hub refuses the destination itself (a configuration problem).
   */
  | { kind: "retry"; flight: Flight; nextAttemptAt: number; held: boolean }
  /**
   * Not this time, and the destination's policy allows no more attempts
   * (max_attempts): record the attempt and give it up (dead letter); the lane
   * (reset, when strict) goes on with the next.
   */
  | { kind: "give_up"; flight: Flight };

/** Delay before a lane restarts after a SKIPPED answer (ms). */
export const RESTART_AFTER_SKIP_MS = 100;

/** Applies the hub's answer for `dispatchId` (made under `epoch`) to the lane. */
export function onResult(lane: LaneState, dispatchId: string, verdict: Verdict, ctx: ResultContext): ResultDecision {
  const f = lane.inflight.get(dispatchId);
  if (!f || f.epoch !== lane.epoch) return { kind: "stale" };
  lane.inflight.delete(dispatchId);
  lane.inflightBytes -= f.bytes;
  if (verdict === "skipped") {
    resetLane(lane);
    return { kind: "restart", wakeAt: ctx.now + RESTART_AFTER_SKIP_MS };
  }
  if (verdict === "delivered" || verdict === "failed") return { kind: "settle", flight: f, status: verdict };
  resetLane(lane);
  return notThisTime(f, verdict, ctx);
}

/** What {@link onResult} and {@link onConcurrentResult} need besides the answer. */
export interface ResultContext {
  now: number;
  retryAfterSeconds?: number;
  backoff: BackoffPolicy;
  /** The destination's max_attempts: a transient failure of this attempt number or later gives the delivery up. */
  maxAttempts?: number | null;
}

/** A transient (or held) answer: retry later, or give up when the policy's attempts are used. */
function notThisTime(f: Flight, verdict: "retry" | "held", ctx: ResultContext): ResultDecision {
  // note: a held destination (its hub refuses the URL) is a configuration problem, not the webhook's: no attempt limit.
  if (verdict === "retry" && ctx.maxAttempts && f.attempt >= ctx.maxAttempts) return { kind: "give_up", flight: f };
  const delay = retryDelayMs(f.attempt, ctx.backoff, verdict === "retry" ? ctx.retryAfterSeconds : 0);
  return { kind: "retry", flight: f, nextAttemptAt: Math.min(ctx.now + delay, f.deliverBy), held: verdict === "held" };
}

// ── concurrent destinations ───────────────────────────────────────────────────
//
// A destination whose policy is `concurrent` sends up to `limit` deliveries at
// once, in queue order, each on its own: a failure makes only that one wait
// for its retry, and nothing is void. Each dispatch gets an epoch of its own,
// so the hub (which blocks the rest of an epoch after a transient failure)
// never holds one back for another.

/**
 * Decides what to send of `batch` (due deliveries in queue order) with
 * `lane.inflight` already out: up to `limit` in flight (and, past the first,
 * `windowBytes` of bodies), overdue ones dead-lettered, ones already in
 * flight (by seq) passed over. `wakeAt`: the earliest not-yet-due item seen,
 * when one is.
 *
 * note: the hub runs at most the policy's concurrency of them at once; the
 * edge keeps up to a window queued there, so a long round trip does not
 * starve the LAN service (as for strict lanes).
 */
export function planConcurrent<T extends QueuedItem>(
  lane: LaneState,
  limit: number,
  batch: readonly T[],
  now: number,
  windowBytes = Number.POSITIVE_INFINITY,
): RefillPlan<T> {
  const plan: RefillPlan<T> = { steps: [], more: false };
  const flying = new Set([...lane.inflight.values()].map((f) => f.seq));
  let count = lane.inflight.size;
  let bytes = lane.inflightBytes;
  for (const item of batch) {
    if (count >= limit) break;
    if (count > 0 && !flying.has(item.seq) && item.deliverBy > now && item.nextAttemptAt <= now && bytes + item.payloadSize > windowBytes) break;
    if (flying.has(item.seq)) continue;
    if (item.deliverBy <= now) {
      plan.steps.push({ kind: "dead_letter", item });
      continue;
    }
    if (item.nextAttemptAt > now) {
      plan.wakeAt = Math.min(plan.wakeAt ?? Number.POSITIVE_INFINITY, item.nextAttemptAt, item.deliverBy);
      continue;
    }
    plan.steps.push({ kind: "dispatch", item });
    count += 1;
    bytes += item.payloadSize;
  }
  return plan;
}

/** Records a concurrent dispatch under an epoch of its own. */
export function markConcurrentDispatched(lane: LaneState, item: QueuedItem, dispatchId: string): Flight {
  lane.epoch += 1;
  return markDispatched(lane, item, dispatchId);
}

/**
 * Applies the hub's answer to a concurrent lane: only that delivery is
 * settled, retried or given up; nothing else in flight is touched. A SKIPPED
 * answer (the hub had no room for the body) makes it due again shortly, with
 * no attempt recorded (`again`).
 */
export function onConcurrentResult(
  lane: LaneState,
  dispatchId: string,
  verdict: Verdict,
  ctx: ResultContext,
): ResultDecision | { kind: "again"; flight: Flight; wakeAt: number } {
  const f = lane.inflight.get(dispatchId);
  if (!f) return { kind: "stale" };
  lane.inflight.delete(dispatchId);
  lane.inflightBytes -= f.bytes;
  if (verdict === "skipped") return { kind: "again", flight: f, wakeAt: ctx.now + RESTART_AFTER_SKIP_MS };
  if (verdict === "delivered" || verdict === "failed") return { kind: "settle", flight: f, status: verdict };
  return notThisTime(f, verdict, ctx);
}
