/**
 * SQL of the delivery queues: a destination's queue is its pending
 * deliveries in seq order. Settling writes the attempt, the delivery's new
 * status and the webhook's aggregate status in one transaction.
 */
import type { Statement } from "better-sqlite3";
import type { Db } from "../db/db.js";
import { isForeignKeyViolation } from "../errors.js";
import {
  BODY_COLUMNS,
  type BodyColumns,
  toBody,
  type AttemptFields,
  type DeliveryStatusName,
  type WebhookBody,
  type WebhookRecord,
} from "../webhook/webhook.store.js";

/** A pending delivery as the dispatcher needs it (no body). */
export interface QueuedDelivery
  extends Pick<WebhookRecord, "id" | "endpointId" | "receivedAt" | "method" | "query" | "payloadSize" | "signatureValid" | "eventType" | "replayOf"> {
  /** Delivery seq: the destination's queue order. */
  seq: number;
  webhookSeq: number;
  destinationId: string;
  attempts: number;
  nextAttemptAt: number;
  deliverBy: number;
}

/** One attempt to record. */
export interface AttemptRecord extends AttemptFields {
  webhookSeq: number;
  deliverySeq: number;
}

/** How a delivery leaves or stays in the queue after an attempt. */
export type Settlement =
  /** `replayOf`: the webhook is a replay of this one, which is superseded once the replay is delivered. */
  | { status: "delivered"; at: number; replayOf?: string | null }
  | { status: "failed"; at: number; error: string }
  | { status: "retry"; at: number; nextAttemptAt: number; error: string }
  /** Its policy's attempts are used up: dead letter, `error` saying so. */
  | { status: "gave_up"; at: number; error: string };

interface QueuedRow {
  seq: number;
  webhook_seq: number;
  destination_id: string;
  id: string;
  endpoint_id: string;
  received_at: number;
  method: string;
  query: string;
  payload_size: number;
  signature_valid: number;
  event_type: string | null;
  replay_of: string | null;
  attempts: number;
  next_attempt_at: number;
  deliver_by: number;
}

const toQueued = (r: QueuedRow): QueuedDelivery => ({
  seq: r.seq,
  webhookSeq: r.webhook_seq,
  destinationId: r.destination_id,
  id: r.id,
  endpointId: r.endpoint_id,
  receivedAt: r.received_at,
  method: r.method,
  query: r.query,
  payloadSize: r.payload_size,
  signatureValid: r.signature_valid === 1,
  eventType: r.event_type,
  replayOf: r.replay_of,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  deliverBy: r.deliver_by,
});

const QUEUED_COLUMNS = `d.seq, d.webhook_seq, d.destination_id, w.id, w.endpoint_id, w.received_at, w.method, w.query, w.payload_size,
  w.signature_valid, w.event_type, w.replay_of, d.attempts, d.next_attempt_at, d.deliver_by`;

/** One delivery of a webhook and where it stands in its destination's queue (for the operator's actions). */
export interface DeliveryPositionRow {
  seq: number;
  webhookSeq: number;
  webhookId: string;
  endpointId: string;
  destinationId: string;
  status: DeliveryStatusName;
  nextAttemptAt: number;
  /** No pending delivery of its destination is before it (held ones do not count: they are out of the queue). */
  head: boolean;
  /** Held out of the queue (an unverified webhook at a destination that holds those) until released. */
  held: boolean;
}

/**
 * The webhook's status from its deliveries: pending while any is; filtered
 * when none was queued; delivered when every queued one was; failed or
 * dead_letter when none was; partial otherwise.
 */
const AGGREGATE_SQL = `UPDATE webhook SET (delivery_count, status, attempts, last_attempt_at, delivered_at, settled_at, error_message) = (
    SELECT
      count(*),
      CASE
        WHEN count(*) = 0 OR count(*) = total(status = 'filtered') THEN 'filtered'
        WHEN total(status = 'pending') > 0 THEN 'pending'
        WHEN total(status = 'delivered') = count(*) - total(status = 'filtered') THEN 'delivered'
        WHEN total(status = 'delivered') > 0 THEN 'partial'
        WHEN total(status = 'failed') > 0 THEN 'failed'
        ELSE 'dead_letter'
      END,
      CAST(total(attempts) AS INTEGER),
      max(last_attempt_at),
      CASE WHEN total(status = 'delivered') = count(*) - total(status = 'filtered') AND count(*) > total(status = 'filtered')
        THEN max(delivered_at) END,
      CASE WHEN total(status = 'pending') = 0 THEN coalesce(max(settled_at), webhook.received_at) END,
      CASE WHEN total(status = 'delivered') = count(*) - total(status = 'filtered') THEN NULL
        ELSE (SELECT e.error_message FROM delivery e WHERE e.webhook_seq = webhook.seq AND e.error_message IS NOT NULL
              AND e.status != 'delivered' ORDER BY coalesce(e.last_attempt_at, 0) DESC LIMIT 1) END
    FROM delivery WHERE webhook_seq = webhook.seq)
  WHERE seq = ?`;

/** Queue persistence. */
export type QueueStore = ReturnType<typeof createQueueStore>;

/** Prepares the queue statements. */
export function createQueueStore(db: Db) {
  // note: one statement per LIMIT, written into the SQL: with `LIMIT ?` this (the dispatcher's
  // hottest) query took ~30 µs instead of ~3 µs (SQLite 3.53), the bound limit costing a re-plan.
  const pendingAfterByLimit = new Map<number, Statement<[string, number], QueuedRow>>();
  const pendingAfter = (limit: number) => {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`pendingAfter: bad limit ${limit}`);
    let stmt = pendingAfterByLimit.get(limit);
    if (!stmt) {
      stmt = db.prepare<[string, number], QueuedRow>(
        `SELECT ${QUEUED_COLUMNS} FROM delivery d JOIN webhook w ON w.seq = d.webhook_seq
         WHERE d.destination_id = ? AND d.status = 'pending' AND d.seq > ? AND d.held_at IS NULL ORDER BY d.seq LIMIT ${limit}`,
      );
      pendingAfterByLimit.set(limit, stmt);
    }
    return stmt;
  };
  const body = db.prepare<[number], BodyColumns>(`SELECT ${BODY_COLUMNS} FROM webhook w JOIN webhook_body b ON b.webhook_seq = w.seq WHERE w.seq = ?`);
  const destinationsWithPending = db.prepare<[], { id: string }>(
    // note: one index probe per destination instead of a scan over every pending delivery.
    `SELECT x.id FROM destination x
     WHERE EXISTS (SELECT 1 FROM delivery d WHERE d.destination_id = x.id AND d.status = 'pending')`,
  );
  const insertAttempt = db.prepare(
    `INSERT INTO attempt (id, webhook_seq, delivery_seq, number, started_at, duration_ms, status_code, outcome, error, response_excerpt)
     VALUES (@id, @webhookSeq, @deliverySeq, @number, @startedAt, @durationMs, @statusCode, @outcome, @error, @responseExcerpt)`,
  );
  // note: a delivery an operator skipped or cancelled while an attempt was under way is delivered if that attempt
  // succeeds: what happened wins over what was asked.
  const delivered = db.prepare<[number, number, number, number, number]>(
    `UPDATE delivery SET status = 'delivered', attempts = ?, last_attempt_at = ?, delivered_at = ?, settled_at = ?, error_message = NULL,
       settled_by = NULL
     WHERE seq = ? AND (status = 'pending' OR (status = 'failed' AND settled_by IS NOT NULL))`,
  );
  const failed = db.prepare<[number, number, number, string, number]>(
    `UPDATE delivery SET status = 'failed', attempts = ?, last_attempt_at = ?, settled_at = ?, error_message = ?
     WHERE seq = ? AND status = 'pending'`,
  );
  const retry = db.prepare<[number, number, number, string, number]>(
    `UPDATE delivery SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, error_message = ?
     WHERE seq = ? AND status = 'pending'`,
  );
  const aggregate = db.prepare<[number]>(AGGREGATE_SQL);
  // note: most webhooks have one delivery; theirs is the webhook's status, set without the aggregate's subqueries.
  const singleDelivered = db.prepare<[number, number, number, number, number]>(
    `UPDATE webhook SET status = 'delivered', attempts = ?, last_attempt_at = ?, delivered_at = ?, settled_at = ?, error_message = NULL
     WHERE seq = ? AND delivery_count = 1`,
  );
  const singleFailed = db.prepare<[number, number, number, string, number]>(
    `UPDATE webhook SET status = 'failed', attempts = ?, last_attempt_at = ?, settled_at = ?, error_message = ?
     WHERE seq = ? AND delivery_count = 1`,
  );
  const singleRetry = db.prepare<[number, number, string, number]>(
    `UPDATE webhook SET attempts = ?, last_attempt_at = ?, error_message = ? WHERE seq = ? AND delivery_count = 1`,
  );
  const dueForDeadLetter = db.prepare<[number], { seq: number; webhook_seq: number; id: string; endpoint_id: string; destination_id: string }>(
    `SELECT d.seq, d.webhook_seq, w.id, w.endpoint_id, d.destination_id FROM delivery d JOIN webhook w ON w.seq = d.webhook_seq
     WHERE d.status = 'pending' AND d.deliver_by <= ? ORDER BY d.seq LIMIT 1000`,
  );
  const deadLetter = db.prepare<[number, number]>(
    `UPDATE delivery SET status = 'dead_letter', settled_at = ?,
       error_message = coalesce(error_message || ' — ', '') || 'not delivered before the dead-letter deadline'
     WHERE seq = ? AND status = 'pending'`,
  );
  const webhookOf = db.prepare<[number], { webhook_seq: number }>(`SELECT webhook_seq FROM delivery WHERE seq = ?`);
  const purgeBatch = db.prepare<[number]>(
    `DELETE FROM webhook WHERE seq IN (
       SELECT seq FROM webhook INDEXED BY webhook_settled WHERE status <> 'pending' AND settled_at < ? LIMIT 500)`,
  );
  const retryNow = db.prepare<[number, string, number]>(
    `UPDATE delivery SET next_attempt_at = ? WHERE destination_id = ? AND status = 'pending' AND next_attempt_at > ?`,
  );
  const noncePurge = db.prepare<[number]>(`DELETE FROM hub_nonce WHERE expires_at < ?`);
  const positions = db.prepare<[string], Omit<DeliveryPositionRow, "head" | "held"> & { head: number; held: number }>(
    `SELECT d.seq, d.webhook_seq AS webhookSeq, w.id AS webhookId, w.endpoint_id AS endpointId, d.destination_id AS destinationId,
       d.status, d.next_attempt_at AS nextAttemptAt, d.held_at IS NOT NULL AS held,
       d.held_at IS NULL AND NOT EXISTS (SELECT 1 FROM delivery p WHERE p.destination_id = d.destination_id AND p.status = 'pending'
         AND p.held_at IS NULL AND p.seq < d.seq) AS head
     FROM delivery d JOIN webhook w ON w.seq = d.webhook_seq WHERE w.id = ? ORDER BY d.seq`,
  );
  const dueConcurrent = new Map<number, Statement<[string, number], QueuedRow>>();
  const pendingDue = (limit: number) => {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`pendingDue: bad limit ${limit}`);
    let stmt = dueConcurrent.get(limit);
    if (!stmt) {
      stmt = db.prepare<[string, number], QueuedRow>(
        `SELECT ${QUEUED_COLUMNS} FROM delivery d JOIN webhook w ON w.seq = d.webhook_seq
         WHERE d.destination_id = ? AND d.status = 'pending' AND d.held_at IS NULL AND d.next_attempt_at <= ? ORDER BY d.seq LIMIT ${limit}`,
      );
      dueConcurrent.set(limit, stmt);
    }
    return stmt;
  };
  const nextDue = db.prepare<[string, number], { at: number | null }>(
    `SELECT min(next_attempt_at) AS at FROM delivery WHERE destination_id = ? AND status = 'pending' AND held_at IS NULL AND next_attempt_at > ?`,
  );
  const heldRow = db.prepare<[number], { webhook_seq: number; destination_id: string; deliver_by: number }>(
    `SELECT webhook_seq, destination_id, deliver_by FROM delivery WHERE seq = ? AND status = 'pending' AND held_at IS NOT NULL`,
  );
  const removeDelivery = db.prepare<[number]>(`DELETE FROM delivery WHERE seq = ?`);
  const requeue = db.prepare<[number, string, number, number]>(
    `INSERT INTO delivery (webhook_seq, destination_id, status, next_attempt_at, deliver_by) VALUES (?, ?, 'pending', ?, ?)`,
  );
  const gaveUp = db.prepare<[number, number, number, string, number]>(
    `UPDATE delivery SET status = 'dead_letter', attempts = ?, last_attempt_at = ?, settled_at = ?, error_message = ?
     WHERE seq = ? AND status = 'pending'`,
  );
  const settleByOperator = db.prepare<[number, string, string, number]>(
    `UPDATE delivery SET status = 'failed', settled_at = ?, error_message = ?, settled_by = ? WHERE seq = ? AND status = 'pending'`,
  );
  const dueNow = db.prepare<[number, number]>(`UPDATE delivery SET next_attempt_at = ? WHERE seq = ? AND status = 'pending'`);
  const deliveredWebhook = db.prepare<[number], { id: string; replay_of: string | null }>(
    `SELECT id, replay_of FROM webhook WHERE seq = ? AND status = 'delivered'`,
  );
  const supersede = db.prepare<[string, string], { replay_of: string | null }>(
    `UPDATE webhook SET superseded_by = ? WHERE id = ? AND superseded_by IS NULL RETURNING replay_of`,
  );
  /** A delivered replay supersedes its original, and that one's original, up the chain. */
  const supersedeChain = (webhookSeq: number): void => {
    const w = deliveredWebhook.get(webhookSeq);
    if (!w) return;
    let original = w.replay_of;
    // note: bounded: a chain is as long as the replays of replays someone made; ids never repeat in it.
    for (let hops = 0; original && hops < 1000; hops++) original = supersede.get(w.id, original)?.replay_of ?? null;
  };

  const recompute = (webhookSeq: number) => aggregate.run(webhookSeq);

  return {
    /** Up to `limit` pending deliveries of a destination after `afterSeq`, in order. */
    pendingAfter(destinationId: string, afterSeq: number, limit: number): QueuedDelivery[] {
      return pendingAfter(limit).all(destinationId, afterSeq).map(toQueued);
    },
    /** Headers and payload of a webhook. */
    body(webhookSeq: number): WebhookBody | undefined {
      const row = body.get(webhookSeq);
      return row && toBody(row);
    },
    destinationsWithPending(): string[] {
      return destinationsWithPending.all().map((r) => r.id);
    },
    /**
     * Records an attempt, applies its settlement to the delivery and updates
     * the webhook's status. Returns false when the delivery was no longer
     * pending (deleted, dead-lettered meanwhile): the attempt is then recorded
     * only if the delivery still exists.
     */
    settle: db.transaction((attempt: AttemptRecord, s: Settlement): boolean => {
      let changed: number;
      if (s.status === "gave_up") {
        changed = gaveUp.run(attempt.number, attempt.startedAt, s.at, s.error, attempt.deliverySeq).changes;
        try {
          insertAttempt.run(attempt);
        } catch (err) {
          if (!isForeignKeyViolation(err)) throw err;
        }
        if (changed > 0) recompute(attempt.webhookSeq);
        return changed > 0;
      }
      if (s.status === "delivered") {
        changed = delivered.run(attempt.number, attempt.startedAt, s.at, s.at, attempt.deliverySeq).changes;
      } else if (s.status === "failed") {
        changed = failed.run(attempt.number, attempt.startedAt, s.at, s.error, attempt.deliverySeq).changes;
      } else {
        changed = retry.run(attempt.number, attempt.startedAt, s.nextAttemptAt, s.error, attempt.deliverySeq).changes;
      }
      try {
        insertAttempt.run(attempt);
      } catch (err) {
        if (!isForeignKeyViolation(err)) throw err;
      }
      if (changed === 0) return false;
      const w = attempt.webhookSeq;
      const direct =
        s.status === "delivered"
          ? singleDelivered.run(attempt.number, attempt.startedAt, s.at, s.at, w)
          : s.status === "failed"
            ? singleFailed.run(attempt.number, attempt.startedAt, s.at, s.error, w)
            : singleRetry.run(attempt.number, attempt.startedAt, s.error, w);
      if (direct.changes === 0) recompute(w);
      if (s.status === "delivered" && s.replayOf) supersedeChain(w);
      return true;
    }),
    /** Each delivery of a webhook (by id) and whether it heads its destination's queue, in seq order. */
    positions(webhookId: string): DeliveryPositionRow[] {
      return positions.all(webhookId).map((r) => ({ ...r, head: r.head === 1, held: r.held === 1 }));
    },
    /**
     * Settles a pending delivery as failed by an operator's hand (skip or
     * cancel): `error` says so, `by` names who. Returns false when it was no
     * longer pending.
     */
    settleByOperator: db.transaction((seq: number, webhookSeq: number, at: number, error: string, by: string): boolean => {
      if (settleByOperator.run(at, error, by, seq).changes === 0) return false;
      recompute(webhookSeq);
      return true;
    }),
    /** Up to `limit` pending deliveries of a destination due by `now` (not held), in queue order: a concurrent destination's refill. */
    pendingDue(destinationId: string, now: number, limit: number): QueuedDelivery[] {
      return pendingDue(limit).all(destinationId, now).map(toQueued);
    },
    /** The earliest next attempt after `now` of a destination's pending deliveries, if any. */
    nextDueAfter(destinationId: string, now: number): number | undefined {
      return nextDue.get(destinationId, now)?.at ?? undefined;
    },
    /**
     * Releases a held delivery: it joins the tail of its destination's queue
     * (a new seq), due at `now`. Returns its new seq, or undefined when it was
     * not held.
     */
    release: db.transaction((seq: number, now: number): number | undefined => {
      const row = heldRow.get(seq);
      if (!row) return undefined;
      removeDelivery.run(seq);
      return Number(requeue.run(row.webhook_seq, row.destination_id, now, row.deliver_by).lastInsertRowid);
    }),
    /** Makes a pending delivery due at `now`; false when it is not pending. */
    dueNow(seq: number, now: number): boolean {
      return dueNow.run(now, seq).changes > 0;
    },
    /** Runs `fn` in one transaction (nested store calls become savepoints). */
    batch: db.transaction((fn: () => void): void => fn()),
    /** Pending deliveries whose dead-letter deadline has passed. */
    dueForDeadLetter(now: number): { seq: number; webhookSeq: number; id: string; endpointId: string; destinationId: string }[] {
      return dueForDeadLetter
        .all(now)
        .map((r) => ({ seq: r.seq, webhookSeq: r.webhook_seq, id: r.id, endpointId: r.endpoint_id, destinationId: r.destination_id }));
    },
    /** Moves one pending delivery to dead_letter. */
    deadLetter: db.transaction((seq: number, now: number): boolean => {
      if (deadLetter.run(now, seq).changes === 0) return false;
      const w = webhookOf.get(seq);
      if (w) recompute(w.webhook_seq);
      return true;
    }),
    /** Recomputes webhooks' statuses from their deliveries. */
    recompute: db.transaction((webhookSeqs: readonly number[]): void => {
      for (const seq of webhookSeqs) recompute(seq);
    }),
    /** Makes a destination's waiting retries due at `now` (its hub came back, say). */
    retryNow(destinationId: string, now: number): number {
      return retryNow.run(now, destinationId, now).changes;
    },
    /** Deletes every settled webhook (not pending) that settled before `before`, with its body; returns how many. */
    purge(before: number): number {
      let total = 0;
      for (;;) {
        const n = purgeBatch.run(before).changes;
        total += n;
        if (n < 500) return total;
      }
    },
    purgeNonces(now: number): number {
      return noncePurge.run(now).changes;
    },
  };
}
