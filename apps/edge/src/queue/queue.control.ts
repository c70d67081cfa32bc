/**
 * Head-of-line controls (issue #13): what an operator may do to one pending
 * delivery, as a pure rule over where it stands in its destination's queue.
 *
 * - `retry_now`: the delivery waits for a retry: it is due now.
 * - `skip`: the head of a queue (failing, waiting, or under way) is settled
 *   as failed, "skipped by <who>", and the queue moves on.
 * - `cancel`: a pending delivery behind the head is settled the same way,
 *   "cancelled by <who>", before it is ever tried.
 * - `release`: a delivery held out of the queue (an unverified webhook at a
 *   destination whose policy holds those) joins the tail of the queue.
 *
 * Skip and cancel are one change to the queue (the delivery leaves it); they
 * are told apart so nobody skips the head while meaning a later webhook, or
 * cancels something believing it has not been tried. Nothing here touches a
 * delivery that is no longer pending: what is settled stays settled (replay
 * it instead).
 */
import type { DeliveryStatusName } from "../webhook/webhook.store.js";

/** The actions on one delivery. */
export const DELIVERY_ACTIONS = ["retry_now", "skip", "cancel", "release"] as const;

/** One of {@link DELIVERY_ACTIONS}. */
export type DeliveryAction = (typeof DELIVERY_ACTIONS)[number];

/** Where a delivery stands, as the rule needs it. */
export interface DeliveryPosition {
  status: DeliveryStatusName;
  /** No pending delivery of the same destination is before it. */
  head: boolean;
  /** Pending with its next attempt in the future (after a failed attempt). */
  waiting: boolean;
  /** Held out of the queue until released (never the head). */
  held?: boolean;
}

/** Whether the action applies, and if not, why (a message for the operator). */
export type ActionCheck = { ok: true } | { ok: false; reason: string };

const PAST: Record<DeliveryAction, string> = { retry_now: "retried", skip: "skipped", cancel: "cancelled", release: "released" };

/** The error message a skip or cancel leaves on the delivery. */
export function settledMessage(action: "skip" | "cancel", actor: string): string {
  return `${PAST[action]} by ${actor}`;
}

/** Whether `action` applies to a delivery at `pos`. */
export function checkAction(action: DeliveryAction, pos: DeliveryPosition): ActionCheck {
  if (pos.status !== "pending") {
    return { ok: false, reason: `it is ${pos.status.replace("_", " ")}, not pending: nothing to ${action.replace("_", " ")} (replay it instead)` };
  }
  if (action === "release") return pos.held ? { ok: true } : { ok: false, reason: "it is not held: only a held (unverified) webhook is released" };
  if (pos.held && action !== "cancel") {
    return { ok: false, reason: "it is held out of the queue (unverified): release it to queue it, or cancel it" };
  }
  switch (action) {
    case "retry_now":
      if (pos.waiting) return { ok: true };
      return {
        ok: false,
        reason: pos.head
          ? "it is not waiting for a retry: it is due already and goes as soon as its hub takes it"
          : "it is not waiting for a retry: it waits behind the head of its queue",
      };
    case "skip":
      return pos.head ? { ok: true } : { ok: false, reason: "it is not at the head of its queue: cancel it instead" };
    case "cancel":
      return pos.head ? { ok: false, reason: "it is at the head of its queue: skip it instead" } : { ok: true };
  }
}
