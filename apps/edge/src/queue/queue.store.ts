/**
 * SQL of the delivery queue: an endpoint's queue is its pending webhooks in
 * seq (arrival) order. Settling writes the attempt and the new status in one
 * transaction.
 */
import type { Statement } from "better-sqlite3";
import type { Db } from "../db/db.js";
import type { WebhookBody, WebhookRecord } from "../webhook/webhook.store.js";

/** A pending webhook as the dispatcher needs it (no body): the columns of QUEUED_COLUMNS. */
export type QueuedWebhook = Pick<
  WebhookRecord,
  "seq" | "id" | "endpointId" | "receivedAt" | "method" | "query" | "payloadSize" | "signatureValid" | "attempts" | "nextAttemptAt" | "deliverBy"
>;

/** One attempt to record. */
export interface AttemptRecord {
  id: string;
  webhookSeq: number;
  number: number;
  startedAt: number;
  durationMs: number;
  statusCode: number;
  outcome: string;
  error: string | null;
  responseExcerpt: string | null;
}

/** How a webhook leaves or stays in the queue after an attempt. */
export type Settlement =
  | { status: "delivered"; at: number }
  | { status: "failed"; at: number; error: string }
  | { status: "retry"; at: number; nextAttemptAt: number; error: string };

interface QueuedRow {
  seq: number;
  id: string;
  endpoint_id: string;
  received_at: number;
  method: string;
  query: string;
  payload_size: number;
  signature_valid: number;
  attempts: number;
  next_attempt_at: number;
  deliver_by: number;
}

const toQueued = (r: QueuedRow): QueuedWebhook => ({
  seq: r.seq,
  id: r.id,
  endpointId: r.endpoint_id,
  receivedAt: r.received_at,
  method: r.method,
  query: r.query,
  payloadSize: r.payload_size,
  signatureValid: r.signature_valid === 1,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  deliverBy: r.deliver_by,
});

const QUEUED_COLUMNS = `seq, id, endpoint_id, received_at, method, query, payload_size, signature_valid, attempts, next_attempt_at, deliver_by`;

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
        `SELECT ${QUEUED_COLUMNS} FROM webhook WHERE endpoint_id = ? AND status = 'pending' AND seq > ? ORDER BY seq LIMIT ${limit}`,
      );
      pendingAfterByLimit.set(limit, stmt);
    }
    return stmt;
  };
  const body = db.prepare<[number], { headers: string; payload: Buffer }>(
    `SELECT headers, payload FROM webhook_body WHERE webhook_seq = ?`,
  );
  const endpointsWithPending = db.prepare<[], { endpoint_id: string }>(
    // note: one index probe per endpoint instead of a scan over every pending webhook.
    `SELECT e.id AS endpoint_id FROM endpoint e
     WHERE EXISTS (SELECT 1 FROM webhook w WHERE w.endpoint_id = e.id AND w.status = 'pending')`,
  );
  const insertAttempt = db.prepare(
    `INSERT INTO attempt (id, webhook_seq, number, started_at, duration_ms, status_code, outcome, error, response_excerpt)
     VALUES (@id, @webhookSeq, @number, @startedAt, @durationMs, @statusCode, @outcome, @error, @responseExcerpt)`,
  );
  const delivered = db.prepare<[number, number, number, number, number]>(
    `UPDATE webhook SET status = 'delivered', attempts = ?, last_attempt_at = ?, delivered_at = ?, settled_at = ?, error_message = NULL
     WHERE seq = ? AND status = 'pending'`,
  );
  const failed = db.prepare<[number, number, number, string, number]>(
    `UPDATE webhook SET status = 'failed', attempts = ?, last_attempt_at = ?, settled_at = ?, error_message = ?
     WHERE seq = ? AND status = 'pending'`,
  );
  const retry = db.prepare<[number, number, number, string, number]>(
    `UPDATE webhook SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, error_message = ?
     WHERE seq = ? AND status = 'pending'`,
  );
  const dueForDeadLetter = db.prepare<[number], { seq: number; id: string; endpoint_id: string }>(
    `SELECT seq, id, endpoint_id FROM webhook WHERE status = 'pending' AND deliver_by <= ? ORDER BY seq LIMIT 1000`,
  );
  const deadLetter = db.prepare<[number, number]>(
    `UPDATE webhook SET status = 'dead_letter', settled_at = ?,
       error_message = coalesce(error_message || ' — ', '') || 'not delivered before the dead-letter deadline'
     WHERE seq = ? AND status = 'pending'`,
  );
  const purgeBatch = db.prepare<[number]>(
    `DELETE FROM webhook WHERE seq IN (
       SELECT seq FROM webhook WHERE status IN ('delivered', 'dead_letter') AND settled_at < ? LIMIT 500)`,
  );
  const noncePurge = db.prepare<[number]>(`DELETE FROM hub_nonce WHERE expires_at < ?`);

  return {
    /** Up to `limit` pending webhooks of an endpoint after `afterSeq`, in order. */
    pendingAfter(endpointId: string, afterSeq: number, limit: number): QueuedWebhook[] {
      return pendingAfter(limit).all(endpointId, afterSeq).map(toQueued);
    },
    /** Headers and payload of a webhook. */
    body(seq: number): WebhookBody | undefined {
      const row = body.get(seq);
      return row && { headers: JSON.parse(row.headers) as [string, string][], payload: row.payload };
    },
    endpointsWithPending(): string[] {
      return endpointsWithPending.all().map((r) => r.endpoint_id);
    },
    /**
     * Records an attempt and applies its settlement. Returns false when the
     * webhook was no longer pending (deleted, dead-lettered meanwhile): the
     * attempt is then recorded only if the webhook still exists.
     */
    settle: db.transaction((attempt: AttemptRecord, s: Settlement): boolean => {
      let changed: number;
      if (s.status === "delivered") {
        changed = delivered.run(attempt.number, attempt.startedAt, s.at, s.at, attempt.webhookSeq).changes;
      } else if (s.status === "failed") {
        changed = failed.run(attempt.number, attempt.startedAt, s.at, s.error, attempt.webhookSeq).changes;
      } else {
        changed = retry.run(attempt.number, attempt.startedAt, s.nextAttemptAt, s.error, attempt.webhookSeq).changes;
      }
      try {
        insertAttempt.run(attempt);
      } catch (err) {
        if (!(err instanceof Error && /FOREIGN KEY/.test(err.message))) throw err;
      }
      return changed > 0;
    }),
    /** Runs `fn` in one transaction (nested store calls become savepoints). */
    batch: db.transaction((fn: () => void): void => fn()),
    /** Pending webhooks whose dead-letter deadline has passed. */
    dueForDeadLetter(now: number): { seq: number; id: string; endpointId: string }[] {
      return dueForDeadLetter.all(now).map((r) => ({ seq: r.seq, id: r.id, endpointId: r.endpoint_id }));
    },
    /** Moves one pending webhook to dead_letter. */
    deadLetter(seq: number, now: number): boolean {
      return deadLetter.run(now, seq).changes > 0;
    },
    /** Deletes settled (delivered, dead-lettered) webhooks older than `before`; returns how many. */
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

/**
 * Exponential backoff: initial · 2^(attempts−1), capped. A Retry-After given
 * by the destination wins (capped at one day).
 */
export function retryDelayMs(
  attempts: number,
  opts: { initialMs: number; maxMs: number },
  retryAfterSeconds = 0,
): number {
  if (retryAfterSeconds > 0) return Math.min(retryAfterSeconds * 1000, 86_400_000);
  const exp = Math.min(Math.max(attempts - 1, 0), 40);
  return Math.min(opts.initialMs * 2 ** exp, opts.maxMs);
}
