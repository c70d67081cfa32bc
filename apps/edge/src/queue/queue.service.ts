/**
 * The operator's hands on the queues (issue #13): retry now, skip and cancel
 * on one delivery, and bulk replay or skip over selected or filtered
 * webhooks. Each action checks the pure rule (queue.control.ts), changes
 * the queue in one transaction with its audit row, and nudges the
 * destination's lane so the queue moves at once.
 */
import type { Clock } from "../clock.js";
import type { AuditService } from "../audit/audit.service.js";
import { AppError } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import { checkIdKind } from "../ids.js";
import type { RelayService } from "../relay/relay.service.js";
import type { WebhookFilter, WebhookService } from "../webhook/webhook.service.js";
import type { DeliveryStatusName } from "../webhook/webhook.store.js";
import { type DeliveryAction, checkAction, settledMessage } from "./queue.control.js";
import type { DeliveryPositionRow, QueueStore } from "./queue.store.js";

/** Webhooks one bulk action may touch; a larger set must be narrowed (by time, say) and done in parts. */
export const MAX_BULK = 10_000;

/** The bulk actions. */
export const BULK_ACTIONS = ["replay", "skip", "release"] as const;

/** One of {@link BULK_ACTIONS}. */
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** What an action on one delivery did. */
export interface DeliveryActionResult {
  webhookId: string;
  destinationId: string;
  action: DeliveryAction;
  /** The delivery's status now. */
  status: DeliveryStatusName;
  /**
   * An attempt was under way when it was skipped or cancelled: the LAN
   * service may still get it once, and if that attempt succeeds the delivery
   * is recorded as delivered.
   */
  inFlight: boolean;
  /** Why the queue is not being sent now, when it is not (muted, hub offline…): a retry-now then waits for that. */
  stalled: string | null;
}

/** What a bulk action selects: webhook ids, or a filter (as the list takes it, without paging). */
export interface BulkSelection {
  webhookIds?: readonly string[] | undefined;
  filter?: Omit<WebhookFilter, "limit" | "pageToken"> | undefined;
}

/** What a bulk action did. */
export interface BulkResult {
  action: BulkAction;
  /** Webhooks selected. */
  matched: number;
  /** Webhooks acted on (replayed, or with a delivery skipped). */
  acted: number;
  /** Selected but left alone: nothing to replay (pending, delivered, filtered) or to skip (nothing pending). */
  ignored: number;
  /** For a replay: the new webhooks' ids, in the order of their originals. */
  replayIds: string[];
}

/** The queue control service. */
export type QueueControl = ReturnType<typeof createQueueControl>;

/** Creates the queue control service. */
export function createQueueControl(deps: {
  store: QueueStore;
  audit: AuditService;
  relay: Pick<RelayService, "nudge" | "inFlight" | "stalled">;
  webhooks: WebhookService;
  events: EdgeEvents;
  clock: Clock;
}) {
  const { store, audit, relay, webhooks, events, clock } = deps;

  /** The delivery an action names: the webhook's only one, or the one to `destinationId`. */
  const deliveryOf = (webhookId: string, destinationId: string | undefined): DeliveryPositionRow => {
    checkIdKind("webhook", webhookId, "webhook_id");
    if (destinationId) checkIdKind("destination", destinationId, "destination_id");
    const all = store.positions(webhookId);
    if (all.length === 0) {
      webhooks.get(webhookId); // not_found when there is no such webhook
      throw new AppError("failed_precondition", `webhook ${webhookId} was not queued for any destination (its filters took none)`);
    }
    if (destinationId) {
      const one = all.find((d) => d.destinationId === destinationId);
      if (!one) throw new AppError("not_found", `webhook ${webhookId} has no delivery to destination ${destinationId}`);
      return one;
    }
    const pending = all.filter((d) => d.status === "pending");
    if (all.length === 1) return all[0]!;
    if (pending.length === 1) return pending[0]!;
    throw new AppError(
      "invalid_argument",
      `webhook ${webhookId} has ${all.length} deliveries (${all.map((d) => `${d.destinationId}: ${d.status}`).join(", ")}): name one with destination_id`,
    );
  };

  const updated = (d: DeliveryPositionRow, status: string): void => {
    events.emit("webhook.updated", { endpointId: d.endpointId, webhookId: d.webhookId, status, destinationId: d.destinationId });
  };

  return {
    /**
     * Retry now, skip or cancel one delivery of a webhook (the only one, or
     * the one to `destinationId`), as `actor`. Throws failed_precondition
     * with the reason when the action does not apply where it stands.
     */
    act(webhookId: string, action: DeliveryAction, opts: { destinationId?: string | undefined; actor: string }): DeliveryActionResult {
      const d = deliveryOf(webhookId, opts.destinationId || undefined);
      const now = clock.now();
      const check = checkAction(action, { status: d.status, head: d.head, held: d.held, waiting: d.status === "pending" && d.nextAttemptAt > now });
      if (!check.ok)
        throw new AppError("failed_precondition", `cannot ${action.replace("_", " ")} webhook ${d.webhookId} at ${d.destinationId}: ${check.reason}`);
      const inFlight = (action === "skip" || action === "cancel") && relay.inFlight(d.seq);
      let status: DeliveryStatusName = "pending";
      store.batch(() => {
        const done =
          action === "retry_now"
            ? store.dueNow(d.seq, now)
            : action === "release"
              ? store.release(d.seq, now) !== undefined
              : store.settleByOperator(d.seq, d.webhookSeq, now, settledMessage(action, opts.actor), opts.actor);
        // note: the dispatcher settled it between the read and now; nothing was changed.
        if (!done) throw new AppError("failed_precondition", `webhook ${d.webhookId} at ${d.destinationId} was settled meanwhile; nothing was changed`);
        if (action === "skip" || action === "cancel") status = "failed";
        audit.record({
          actor: opts.actor,
          action,
          endpointId: d.endpointId,
          webhookId: d.webhookId,
          destinationId: d.destinationId,
          detail: inFlight ? { inFlight } : null,
        });
      });
      updated(d, status);
      relay.nudge(d.destinationId);
      return { webhookId: d.webhookId, destinationId: d.destinationId, action, status, inFlight, stalled: relay.stalled(d.destinationId) };
    },

    /**
     * Replays or skips every selected webhook, oldest first, as `actor`.
     * Replay: the ones that failed, were dead-lettered or partly delivered
     * (to the destinations that did not get them; pending ones only with
     * `allowPending`, which replays them to every destination). Skip: every
     * pending delivery of each (the head of its queue or not). A selection of
     * more than MAX_BULK is refused, whole.
     */
    async bulk(action: BulkAction, selection: BulkSelection, opts: { actor: string; allowPending?: boolean }): Promise<BulkResult> {
      const ids = selectIds(webhooks, selection);
      const result: BulkResult = { action, matched: ids.length, acted: 0, ignored: 0, replayIds: [] };
      const batchDetail = { bulk: true, matched: ids.length };
      const nudged = new Set<string>();
      for (const id of ids) {
        const positions = store.positions(id);
        if (action === "release") {
          const held = positions.filter((p) => p.status === "pending" && p.held);
          if (held.length === 0) {
            result.ignored++;
            continue;
          }
          const now = clock.now();
          store.batch(() => {
            for (const p of held) {
              if (store.release(p.seq, now) === undefined) continue;
              audit.record({
                actor: opts.actor,
                action: "release",
                endpointId: p.endpointId,
                webhookId: p.webhookId,
                destinationId: p.destinationId,
                detail: batchDetail,
              });
              nudged.add(p.destinationId);
            }
          });
          result.acted++;
          for (const p of held) updated(p, "pending");
          continue;
        }
        if (action === "skip") {
          const pending = positions.filter((p) => p.status === "pending");
          if (pending.length === 0) {
            result.ignored++;
            continue;
          }
          const now = clock.now();
          let skipped = 0;
          store.batch(() => {
            for (const p of pending) {
              if (!store.settleByOperator(p.seq, p.webhookSeq, now, settledMessage("skip", opts.actor), opts.actor)) continue;
              skipped++;
              audit.record({
                actor: opts.actor,
                action: "skip",
                endpointId: p.endpointId,
                webhookId: p.webhookId,
                destinationId: p.destinationId,
                detail: batchDetail,
              });
            }
          });
          if (skipped === 0) {
            result.ignored++;
            continue;
          }
          result.acted++;
          for (const p of pending) {
            updated(p, "failed");
            nudged.add(p.destinationId);
          }
          continue;
        }
        const missed = positions.filter((p) => p.status === "failed" || p.status === "dead_letter");
        const pending = positions.some((p) => p.status === "pending");
        if (pending && !opts.allowPending) {
          result.ignored++;
          continue;
        }
        if (!pending && missed.length === 0) {
          result.ignored++;
          continue;
        }
        // note: a pending one (allowed) goes to every destination again; a settled one to those that missed it.
        const replay = await webhooks.replay(id, {
          destinationIds: pending ? undefined : missed.map((p) => p.destinationId),
          allowPending: true,
          actor: opts.actor,
          auditDetail: batchDetail,
        });
        result.replayIds.push(replay.id);
        result.acted++;
      }
      for (const destinationId of nudged) relay.nudge(destinationId);
      return result;
    },
  };
}

/** The ids a selection names, oldest first; invalid_argument when it names nothing or too much. */
function selectIds(webhooks: WebhookService, selection: BulkSelection): string[] {
  const { webhookIds, filter } = selection;
  if (webhookIds && webhookIds.length > 0) {
    if (filter && Object.values(filter).some((v) => v !== undefined && v !== "")) {
      throw new AppError("invalid_argument", "give either webhook_ids or a filter, not both");
    }
    if (webhookIds.length > MAX_BULK) throw new AppError("invalid_argument", `at most ${MAX_BULK} webhook_ids at once`);
    for (const id of webhookIds) {
      checkIdKind("webhook", id, "each of webhook_ids:");
    }
    const unique = [...new Set(webhookIds)];
    const found = webhooks.existing(unique);
    // note: every id must exist, so a typo is an error, not a silent "ignored".
    if (found.length < unique.length) {
      const known = new Set(found);
      const missing = unique.filter((id) => !known.has(id));
      throw new AppError("not_found", `no such webhook: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`);
    }
    return found;
  }
  if (!filter || !Object.values(filter).some((v) => v !== undefined && v !== "")) {
    throw new AppError("invalid_argument", "select webhooks: give webhook_ids, or a filter (endpoint_id, status, event_type, verified, since, until)");
  }
  const ids: string[] = [];
  let pageToken: string | undefined;
  do {
    const page = webhooks.list({ ...filter, limit: 500, pageToken });
    for (const w of page.webhooks) ids.push(w.id);
    if (ids.length > MAX_BULK) {
      throw new AppError("invalid_argument", `the filter selects more than ${MAX_BULK} webhooks; narrow it (since and until, say) and act in parts`);
    }
    pageToken = page.nextPageToken || undefined;
  } while (pageToken);
  // note: lists are newest first; acting oldest first keeps replays in their originals' order.
  return ids.reverse();
}
