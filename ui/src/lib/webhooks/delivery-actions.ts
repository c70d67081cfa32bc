import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { DeliveryAction, DeliveryStatus, type ActOnDeliveryResponse, type AuditEntry, type Delivery } from "@hookly/proto/gen/admin_pb";
import { actorLabel } from "./audit";

/** What an operator can do to one pending delivery (the edge's head-of-line controls, and releasing a held one). */
export type DeliveryActionKind = "retry_now" | "skip" | "cancel" | "release";

/** The fields of a delivery these functions read, so tests can pass plain objects. */
export type DeliveryLike = Pick<Delivery, "destinationId" | "status" | "queueHead" | "nextAttemptAt" | "settledBy" | "heldAt">;

/** Each action's wire value and the words for it: a button, a past tense, a verb for sentences. */
export const DELIVERY_ACTIONS: Readonly<Record<DeliveryActionKind, { value: DeliveryAction; label: string; done: string }>> = {
  retry_now: { value: DeliveryAction.RETRY_NOW, label: "Retry now", done: "Retried now" },
  skip: { value: DeliveryAction.SKIP, label: "Skip", done: "Skipped" },
  cancel: { value: DeliveryAction.CANCEL, label: "Cancel", done: "Cancelled" },
  release: { value: DeliveryAction.RELEASE, label: "Release", done: "Released" },
};

const ms = (ts: Timestamp | undefined): number | undefined => (ts && (ts.seconds !== 0n || ts.nanos !== 0) ? timestampMs(ts) : undefined);

/** Since when a pending delivery is held out of its queue (unverified, at a destination that holds those); undefined when it is not. */
export function heldSince(d: Pick<Delivery, "status" | "heldAt">): Date | undefined {
  const at = ms(d.heldAt);
  return d.status === DeliveryStatus.PENDING && at !== undefined ? new Date(at) : undefined;
}

/**
 * The actions a delivery offers at `now`, as the edge's rules allow them: retry now while it waits
 * for a retry (pending, its next attempt in the future), skip at the head of its queue, cancel
 * when pending behind the head; a held one only release and cancel. A settled delivery offers
 * none (replay it instead).
 * note: the edge decides on its own clock; a retry that fell due meanwhile is refused there with a reason.
 */
export function deliveryActions(d: DeliveryLike, now: number): DeliveryActionKind[] {
  if (d.status !== DeliveryStatus.PENDING) return [];
  if (heldSince(d)) return ["release", "cancel"];
  const actions: DeliveryActionKind[] = [];
  const next = ms(d.nextAttemptAt);
  if (next !== undefined && next > now) actions.push("retry_now");
  actions.push(d.queueHead ? "skip" : "cancel");
  return actions;
}

/**
 * "Skipped by mona (GitHub)" for a delivery an operator settled, else undefined. Skip and cancel
 * are told apart by the newest audit entry for its destination; without one (not loaded yet, or
 * purged), "Settled by …".
 */
export function settledNote(d: DeliveryLike, audit: readonly Pick<AuditEntry, "action" | "destinationId">[]): string | undefined {
  if (!d.settledBy) return undefined;
  // note: audit entries come newest first, so the first match is the action that settled it.
  const entry = audit.find((e) => e.destinationId === d.destinationId && (e.action === "skip" || e.action === "cancel"));
  const verb = entry?.action === "skip" ? "Skipped" : entry?.action === "cancel" ? "Cancelled" : "Settled";
  return `${verb} by ${actorLabel(d.settledBy)}`;
}

/** What an action did, for a person: a headline and the notes that matter (stalled queue, attempt under way). */
export function deliveryOutcome(
  action: DeliveryActionKind,
  res: Pick<ActOnDeliveryResponse, "inFlight" | "stalled" | "status">,
): { title: string; notes: string[]; tone: "default" | "warning" } {
  const notes: string[] = [];
  if (action === "release") {
    notes.push("It joins the end of its destination's queue and is delivered in its turn.");
    if (res.stalled) notes.push(`Its queue is not being sent now: ${res.stalled}. It goes as soon as that changes.`);
    return { title: "Released", notes, tone: res.stalled ? "warning" : "default" };
  }
  if (action === "retry_now") {
    if (res.stalled) notes.push(`Its queue is not being sent now: ${res.stalled}. It goes as soon as that changes.`);
    else notes.push("The next attempt is being made now.");
    return { title: "Retry due now", notes, tone: res.stalled ? "warning" : "default" };
  }
  notes.push(
    action === "skip"
      ? "It is settled as failed and its queue moves on to the next webhook."
      : "It is settled as failed before it was tried; its queue goes on without it.",
  );
  if (res.inFlight) {
    notes.push("An attempt was under way: the LAN service may still get it once (if that attempt succeeds, it is recorded as delivered).");
  }
  return { title: DELIVERY_ACTIONS[action].done, notes, tone: res.inFlight ? "warning" : "default" };
}
