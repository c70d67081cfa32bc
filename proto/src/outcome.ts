/**
 * What an attempt's result means for the webhook. One function, used by the
 * hub (to stop an endpoint's lane after a transient failure) and by the edge
 * (to settle or reschedule the webhook), so the two can never disagree.
 */
import { DeliveryOutcome } from "../gen/hookly/v1/stream_pb.js";

/**
 * - `delivered`: 2xx.
 * - `failed`: permanent — other 4xx, 3xx (redirects are not followed), an
 *   unusable delivery. The queue moves on.
 * - `retry`: transient — 5xx, 408, 429, timeouts, connection errors. The
 *   destination's queue waits for this webhook.
 * - `held`: the hub refuses the destination URL (HUB_ALLOWED_DESTINATIONS). A
 *   configuration problem, not the webhook's fault: the queue waits as for a
 *   retry (and the edge alerts) instead of failing webhook after webhook.
 * - `skipped`: not attempted; no attempt is recorded.
 */
export type Verdict = "delivered" | "failed" | "retry" | "held" | "skipped";

/** Whether the queue must wait for this webhook (the hub then blocks the lane's epoch). */
export function blocksQueue(v: Verdict): boolean {
  return v === "retry" || v === "held";
}

/** Classifies one attempt's outcome. */
export function judgeOutcome(outcome: DeliveryOutcome, statusCode: number): Verdict {
  switch (outcome) {
    case DeliveryOutcome.RESPONSE:
      if (statusCode >= 200 && statusCode < 300) return "delivered";
      if (statusCode === 408 || statusCode === 429) return "retry";
      if (statusCode >= 500 || statusCode < 100) return "retry";
      return "failed";
    case DeliveryOutcome.TIMEOUT:
    case DeliveryOutcome.CONNECTION_ERROR:
      return "retry";
    case DeliveryOutcome.SKIPPED:
      return "skipped";
    case DeliveryOutcome.DESTINATION_NOT_ALLOWED:
      return "held";
    case DeliveryOutcome.INVALID:
      return "failed";
    default:
      // note: an outcome from a newer hub we do not know is treated as transient, never lost.
      return "retry";
  }
}
