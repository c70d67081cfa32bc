/**
 * SQL for reading webhooks as the admin API shows them: filtered lists newest
 * first with keyset paging on seq, one webhook with its body and attempts,
 * the rows a bulk replay copies, and the numbers of the status page.
 * Every statement is prepared once, when the store is created.
 *
 * Writes are not here: new webhooks (ingest and replay) go through
 * ingest.store.ts so they are group-committed durably; status changes are the
 * queue's (queue.store.ts).
 */
import type { Db } from "../db/db.js";
import type { PayloadRef } from "../payload/payload.files.js";

/**
 * Where a webhook stands, as stored in `webhook.status`: the aggregate of its
 * deliveries (partial: some delivered, some failed or dead-lettered; filtered:
 * no destination took it).
 */
export type WebhookStatusName = "pending" | "delivered" | "failed" | "dead_letter" | "partial" | "filtered";

/** Every status, in the order the API lists them. */
export const WEBHOOK_STATUSES: readonly WebhookStatusName[] = ["pending", "delivered", "failed", "dead_letter", "partial", "filtered"];

/** Where one delivery (a webhook at one destination) stands. */
export type DeliveryStatusName = "pending" | "delivered" | "failed" | "dead_letter" | "filtered";

/** One webhook's delivery to one destination. */
export interface DeliveryRecord {
  seq: number;
  destinationId: string;
  hubId: string;
  url: string;
  destinationName: string;
  status: DeliveryStatusName;
  attempts: number;
  lastAttemptAt: number | null;
  /** Meaningful while pending only. */
  nextAttemptAt: number;
  deliverBy: number;
  deliveredAt: number | null;
  settledAt: number | null;
  errorMessage: string | null;
  /** Who skipped or cancelled it, when an operator settled it. */
  settledBy: string | null;
  /** Pending with no pending delivery of its destination before it (skip applies; cancel to those behind). */
  queueHead: boolean;
  /** Held out of the queue since then (unverified, at a destination that holds those) until released. */
  heldAt: number | null;
}

/** A webhook row without its body. */
export interface WebhookRecord {
  /** Arrival order (the rowid); the keyset of list paging. */
  seq: number;
  id: string;
  endpointId: string;
  receivedAt: number;
  method: string;
  query: string;
  payloadSize: number;
  contentType: string | null;
  sourceIp: string | null;
  signatureValid: boolean;
  signatureReason: string | null;
  /** Stripe type, GitHub event(.action), Telegram update kind, generic type; null when none. */
  eventType: string | null;
  status: WebhookStatusName;
  /** Over all deliveries. */
  attempts: number;
  lastAttemptAt: number | null;
  /** Earliest next attempt of its pending deliveries; null when none is pending. */
  nextAttemptAt: number | null;
  /** Earliest dead-letter deadline of its pending deliveries; null when none is pending. */
  deliverBy: number | null;
  deliveredAt: number | null;
  settledAt: number | null;
  errorMessage: string | null;
  replayOf: string | null;
  /** The earlier webhook this one repeats (a deduplicating endpoint stored it without delivering it). */
  duplicateOf: string | null;
  /** The replay (of it, or of one of its replays) that was delivered: the work it stood for is done. */
  supersededBy: string | null;
  /** A replay sent with a fresh signature (the endpoint's secret, a new timestamp) instead of the provider's. */
  resigned: boolean;
}

/** Headers and payload of a webhook, exactly as received. */
export interface WebhookBody {
  /** [name, value] pairs in arrival order, original case. */
  headers: [string, string][];
  /** Where the bytes are: in the row or in a payload file. */
  payload: PayloadRef;
}

/** A delivery attempt as stored. */
export interface AttemptRow extends AttemptFields {
  /** The destination it was made for (null for attempts older than destinations, none here after migration 006). */
  destinationId: string | null;
}

/** What an attempt records, whichever side reads or writes it (the queue writes {@link AttemptRecord}s with its seqs). */
export interface AttemptFields {
  id: string;
  number: number;
  startedAt: number;
  durationMs: number;
  statusCode: number;
  outcome: string;
  error: string | null;
  responseExcerpt: string | null;
}

/** A list query; every filter is optional. */
export interface WebhookListQuery {
  endpointId?: string | undefined;
  eventType?: string | undefined;
  status?: WebhookStatusName | undefined;
  verified?: boolean | undefined;
  /** received_at ≥ since (ms). */
  since?: number | undefined;
  /** received_at < until (ms). */
  until?: number | undefined;
  /** true: only superseded webhooks (a replay of them was delivered); false: none of them. */
  superseded?: boolean | undefined;
  /** Only webhooks routed to this destination (queued or filtered there). */
  destinationId?: string | undefined;
  /** An FTS5 expression (webhook.search.ts searchExpression): only webhooks whose indexed text matches. */
  search?: string | undefined;
  /** Only rows with seq < beforeSeq (the previous page's last seq). */
  beforeSeq?: number | undefined;
  /** Rows to return (the caller asks for one more than a page to know whether another follows). */
  limit: number;
}

/** One endpoint's queue. */
export interface EndpointQueueStats {
  endpointId: string;
  pending: number;
  /** received_at of the head of the queue (its earliest-arrived pending webhook). */
  oldestPendingAt: number | null;
  lastDeliveredAt: number | null;
}

/** Webhooks received since some time, by their current status. */
export interface StatusCounts {
  received: number;
  pending: number;
  delivered: number;
  failed: number;
  deadLetter: number;
}

/** A webhook row as selected: the record's own names (the SQL aliases them), signature_valid as 0 or 1. */
type WebhookRow = Omit<WebhookRecord, "signatureValid" | "resigned"> & { signatureValid: number; resigned: number };

/** The body columns of a webhook `w` joined with its webhook_body `b`, as {@link toBody} reads them. */
export const BODY_COLUMNS = `b.headers AS headers, b.payload AS payload, b.payload_file AS payloadFile,
  w.payload_size AS bodySize, w.payload_sha256 AS payloadSha256`;

export interface BodyColumns {
  headers: string | null;
  payload: Buffer | null;
  payloadFile: string | null;
  bodySize: number;
  payloadSha256: string | null;
}

// note: columns are aliased to the record's names, so a row is a record but for signatureValid; retry
// timing lives on the deliveries, and a pending webhook shows its earliest (two probes of delivery_by_webhook).
const columns = (t: string) => `${t}.seq AS seq, id, endpoint_id AS endpointId, received_at AS receivedAt, method, query,
  payload_size AS payloadSize, content_type AS contentType, source_ip AS sourceIp, signature_valid AS signatureValid,
  signature_reason AS signatureReason, event_type AS eventType, status, attempts, last_attempt_at AS lastAttemptAt,
  CASE WHEN ${t}.status = 'pending' THEN (SELECT min(d.next_attempt_at) FROM delivery d WHERE d.webhook_seq = ${t}.seq AND d.status = 'pending') END AS nextAttemptAt,
  CASE WHEN ${t}.status = 'pending' THEN (SELECT min(d.deliver_by) FROM delivery d WHERE d.webhook_seq = ${t}.seq AND d.status = 'pending') END AS deliverBy,
  delivered_at AS deliveredAt, settled_at AS settledAt, error_message AS errorMessage, replay_of AS replayOf, duplicate_of AS duplicateOf,
  superseded_by AS supersededBy, resigned`;

/** The record of a row (of the columns above only: a row with body columns keeps them, for toBody to replace). */
const toRecord = (r: WebhookRow): WebhookRecord => ({ ...r, signatureValid: r.signatureValid === 1, resigned: r.resigned === 1 });

/** A webhook's body from its {@link BODY_COLUMNS}. */
export const toBody = (r: BodyColumns): WebhookBody => ({
  headers: r.headers ? (JSON.parse(r.headers) as [string, string][]) : [],
  payload: { size: r.bodySize, inline: r.payload ?? Buffer.alloc(0), file: r.payloadFile, sha256: r.payloadSha256 },
});

/** Bound parameters of every list statement. */
interface ListParams {
  endpointId: string | null;
  eventType: string | null;
  status: string | null;
  verified: number | null;
  superseded: number | null;
  destinationId: string | null;
  search: string | null;
  since: number;
  until: number;
  before: number;
  limit: number;
}

/** How a list statement walks the table: by seq, by arrival time, or from the search index's matches. */
type ListPlan = "by_seq" | "by_received" | "by_search";

/**
 * The SQL of one list variant. Endpoint and status appear only when filtered
 * on, so SQLite can pick the index that serves them in seq order:
 * rowid, webhook_by_endpoint, webhook_by_status or webhook_by_endpoint_status.
 */
function listSql(plan: ListPlan, byEndpoint: boolean, byStatus: boolean, count = false): string {
  const where = [
    count ? "" : "seq < @before",
    plan === "by_search" ? "seq IN (SELECT rowid FROM webhook_text WHERE webhook_text MATCH @search)" : "",
    "(@destinationId IS NULL OR EXISTS (SELECT 1 FROM delivery d WHERE d.webhook_seq = webhook.seq AND d.destination_id = @destinationId))",
    byEndpoint ? "endpoint_id = @endpointId" : "",
    byStatus ? "status = @status" : "",
    "(@verified IS NULL OR signature_valid = @verified)",
    "(@eventType IS NULL OR event_type = @eventType)",
    "(@superseded IS NULL OR (superseded_by IS NOT NULL) = @superseded)",
    // note: the unary + keeps the by_seq plan off the received_at index (it must walk seq order and stop
    // after a page); the by_received plan must use it, and INDEXED BY makes prepare fail if it cannot.
    plan === "by_received" ? "received_at >= @since AND received_at < @until" : "+received_at >= @since AND +received_at < @until",
  ].filter(Boolean);
  const from = plan === "by_received" ? "webhook INDEXED BY webhook_by_received_status" : "webhook";
  if (count) return `SELECT count(*) AS n FROM ${from} WHERE ${where.join(" AND ")}`;
  return `SELECT ${columns("webhook")} FROM ${from} WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT @limit`;
}

/** Replays a webhook's detail lists (the trail of a webhook replayed more often is cut there). */
export const MAX_REPLAYS_SHOWN = 100;

/** Webhook read model. */
export type WebhookStore = ReturnType<typeof createWebhookStore>;

/** Prepares the webhook statements. */
export function createWebhookStore(db: Db) {
  const prepareList = (plan: ListPlan, byEndpoint: boolean, byStatus: boolean) => {
    const sql = listSql(plan, byEndpoint, byStatus);
    return {
      run: db.prepare<ListParams, WebhookRow>(sql),
      explain: db.prepare<ListParams, { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`),
      count: db.prepare<Omit<ListParams, "before" | "limit">, { n: number }>(listSql(plan, byEndpoint, byStatus, true)),
    };
  };
  const listKey = (plan: ListPlan, byEndpoint: boolean, byStatus: boolean) => `${plan}:${byEndpoint ? "e" : "-"}:${byStatus ? "s" : "-"}`;
  const listStatements = new Map<string, ReturnType<typeof prepareList>>();
  for (const plan of ["by_seq", "by_received", "by_search"] as const) {
    for (const e of [false, true]) {
      for (const s of [false, true]) listStatements.set(listKey(plan, e, s), prepareList(plan, e, s));
    }
  }
  const maxSeq = db.prepare<[], { seq: number | null }>(`SELECT max(seq) AS seq FROM webhook`);
  const minSeq = db.prepare<[], { seq: number | null }>(`SELECT min(seq) AS seq FROM webhook`);
  const firstSeqReceivedFrom = db.prepare<[number], { seq: number }>(`SELECT seq FROM webhook WHERE received_at >= ? ORDER BY received_at LIMIT 1`);
  const lastSeqReceivedBefore = db.prepare<[number], { seq: number }>(`SELECT seq FROM webhook WHERE received_at < ? ORDER BY received_at DESC LIMIT 1`);

  const byId = db.prepare<[string], WebhookRow & BodyColumns>(
    `SELECT ${columns("w")}, ${BODY_COLUMNS}
     FROM webhook w LEFT JOIN webhook_body b ON b.webhook_seq = w.seq WHERE w.id = ?`,
  );
  const bySeq = db.prepare<[number], WebhookRow & BodyColumns>(
    `SELECT ${columns("w")}, ${BODY_COLUMNS}
     FROM webhook w LEFT JOIN webhook_body b ON b.webhook_seq = w.seq WHERE w.seq = ?`,
  );
  const setSha256 = db.prepare<[string, number]>(`UPDATE webhook SET payload_sha256 = ? WHERE seq = ? AND payload_sha256 IS NULL`);
  // note: aliased to the record's names, like the webhook columns.
  const attempts = db.prepare<[number], AttemptRow>(
    `SELECT a.id, d.destination_id AS destinationId, a.number, a.started_at AS startedAt, a.duration_ms AS durationMs,
       a.status_code AS statusCode, a.outcome, a.error, a.response_excerpt AS responseExcerpt
     FROM attempt a LEFT JOIN delivery d ON d.seq = a.delivery_seq WHERE a.webhook_seq = ? ORDER BY a.started_at, a.number`,
  );
  const deliveries = db.prepare<[number], DeliveryRecord>(
    `SELECT d.seq, d.destination_id AS destinationId, x.hub_id AS hubId, x.url, x.name AS destinationName, d.status, d.attempts,
       d.last_attempt_at AS lastAttemptAt, d.next_attempt_at AS nextAttemptAt, d.deliver_by AS deliverBy, d.delivered_at AS deliveredAt,
       d.settled_at AS settledAt, d.error_message AS errorMessage, d.settled_by AS settledBy,
       d.status = 'pending' AND d.held_at IS NULL AND NOT EXISTS (SELECT 1 FROM delivery p WHERE p.destination_id = d.destination_id
         AND p.status = 'pending' AND p.held_at IS NULL AND p.seq < d.seq) AS queueHead, d.held_at AS heldAt
     FROM delivery d JOIN destination x ON x.id = d.destination_id WHERE d.webhook_seq = ? ORDER BY x.position, d.seq`,
  );
  const replayable = db.prepare<[string], { seq: number }>(
    `SELECT seq FROM webhook INDEXED BY webhook_by_endpoint_status
     WHERE endpoint_id = ? AND status IN ('failed', 'dead_letter', 'partial') ORDER BY seq`,
  );
  // note: the oldest pending webhook is the head of the queue (lowest seq), found by index in O(log n);
  // received_at follows seq except across a wall-clock step backwards.
  // Last delivered: an endpoint's webhooks are delivered in seq order (the dispatcher never lets k+1
  // overtake k), so the highest delivered seq carries the latest delivered_at.
  const queueColumns = `e.id AS endpoint_id,
    (SELECT count(*) FROM webhook WHERE endpoint_id = e.id AND status = 'pending') AS pending,
    (SELECT received_at FROM webhook WHERE endpoint_id = e.id AND status = 'pending' ORDER BY seq LIMIT 1) AS oldest_pending_at,
    (SELECT delivered_at FROM webhook WHERE endpoint_id = e.id AND status = 'delivered' ORDER BY seq DESC LIMIT 1) AS last_delivered_at`;
  type QueueRow = { endpoint_id: string; pending: number; oldest_pending_at: number | null; last_delivered_at: number | null };
  const queueAll = db.prepare<[], QueueRow>(`SELECT ${queueColumns} FROM endpoint e ORDER BY e.created_at, e.id`);
  const queueOne = db.prepare<[string], QueueRow>(`SELECT ${queueColumns} FROM endpoint e WHERE e.id = ?`);
  const countsSince = db.prepare<
    [number],
    { received: number; pending: number | null; delivered: number | null; failed: number | null; dead_letter: number | null }
  >(
    // note: sums instead of GROUP BY: the covering index is scanned once with no temp b-tree.
    `SELECT count(*) AS received, sum(status = 'pending') AS pending, sum(status = 'delivered') AS delivered,
       sum(status = 'failed') AS failed, sum(status = 'dead_letter') AS dead_letter
     FROM webhook INDEXED BY webhook_by_received_status WHERE received_at >= ?`,
  );
  const replaysOf = db.prepare<[string], WebhookRow>(`SELECT ${columns("webhook")} FROM webhook WHERE replay_of = ? ORDER BY seq LIMIT ${MAX_REPLAYS_SHOWN}`);
  const findIds = db.prepare<[string], { id: string }>(`SELECT w.id FROM json_each(?) j JOIN webhook w ON w.id = j.value ORDER BY w.seq`);
  const oldestPending = db.prepare<[], { received_at: number }>(`SELECT received_at FROM webhook WHERE status = 'pending' ORDER BY seq LIMIT 1`);

  const toQueue = (r: QueueRow): EndpointQueueStats => ({
    endpointId: r.endpoint_id,
    pending: r.pending,
    oldestPendingAt: r.oldest_pending_at,
    lastDeliveredAt: r.last_delivered_at,
  });

  /**
   * Picks how to walk the table for a time-filtered list.
   *
   * note: by_seq walks newest first and stops after a page: cheap unless many rows newer than
   * `until` must be skipped first, or fewer than a page match and it walks on to the oldest row
   * (received_at is not trusted to follow seq, so it cannot stop early). by_received reads only the
   * rows inside the window from the received_at index, then sorts them: cheap unless the window is
   * large. The seq positions of the window's edges (two index lookups) estimate both costs; the
   * answer is exact either way, only the speed depends on the guess. A sorted row costs a few
   * skipped ones, hence the factor.
   */
  const choosePlan = (q: WebhookListQuery, before: number): ListPlan | "empty" => {
    // note: the search index's matches drive the walk: rowid lookups of just those, whatever else is filtered.
    if (q.search !== undefined) return "by_search";
    if (q.since === undefined && q.until === undefined) return "by_seq";
    const bottom = minSeq.get()?.seq;
    if (bottom == null) return "empty";
    const top = Math.min(before - 1, maxSeq.get()?.seq ?? 0);
    const hi = q.until === undefined ? top : lastSeqReceivedBefore.get(q.until)?.seq;
    const lo = q.since === undefined ? bottom : firstSeqReceivedFrom.get(q.since)?.seq;
    if (hi === undefined || lo === undefined) return "empty";
    const window = Math.max(0, Math.min(hi, top) - lo + 1);
    const bySeqCost = Math.max(0, top - hi) + (window >= q.limit ? q.limit : Math.max(0, Math.min(hi, top) - bottom + 1));
    return window * 4 < bySeqCost ? "by_received" : "by_seq";
  };

  const paramsOf = (q: WebhookListQuery, before: number): ListParams => ({
    endpointId: q.endpointId ?? null,
    eventType: q.eventType ?? null,
    status: q.status ?? null,
    verified: q.verified === undefined ? null : q.verified ? 1 : 0,
    superseded: q.superseded === undefined ? null : q.superseded ? 1 : 0,
    destinationId: q.destinationId ?? null,
    search: q.search ?? null,
    since: q.since ?? Number.MIN_SAFE_INTEGER,
    until: q.until ?? Number.MAX_SAFE_INTEGER,
    before,
    limit: q.limit,
  });

  const statementsFor = (plan: ListPlan, q: WebhookListQuery) => listStatements.get(listKey(plan, q.endpointId !== undefined, q.status !== undefined))!;

  return {
    /** Up to `limit` webhooks matching the query, newest (highest seq) first. */
    list(q: WebhookListQuery): WebhookRecord[] {
      const before = q.beforeSeq ?? Number.MAX_SAFE_INTEGER;
      const plan = choosePlan(q, before);
      if (plan === "empty") return [];
      return statementsFor(plan, q).run.all(paramsOf(q, before)).map(toRecord);
    },
    /** How many webhooks match the query's filters (paging aside). */
    count(q: Omit<WebhookListQuery, "limit" | "beforeSeq">): number {
      const plan = choosePlan({ ...q, limit: 1 }, Number.MAX_SAFE_INTEGER);
      if (plan === "empty") return 0;
      const { before: _before, limit: _limit, ...params } = paramsOf({ ...q, limit: 1 }, Number.MAX_SAFE_INTEGER);
      return statementsFor(plan, { ...q, limit: 1 }).count.get(params)?.n ?? 0;
    },
    /** SQLite's query plan for `list(q)` (tests check it uses an index). */
    explainList(q: WebhookListQuery): { plan: ListPlan | "empty"; detail: string[] } {
      const before = q.beforeSeq ?? Number.MAX_SAFE_INTEGER;
      const plan = choosePlan(q, before);
      if (plan === "empty") return { plan, detail: [] };
      const rows = statementsFor(plan, q).explain.all(paramsOf(q, before));
      return { plan, detail: rows.map((r) => r.detail) };
    },
    /** A webhook with its body, by id. */
    get(id: string): (WebhookRecord & WebhookBody) | undefined {
      const row = byId.get(id);
      return row && { ...toRecord(row), ...toBody(row) };
    },
    /** A webhook with its body, by seq. */
    getBySeq(seq: number): (WebhookRecord & WebhookBody) | undefined {
      const row = bySeq.get(seq);
      return row && { ...toRecord(row), ...toBody(row) };
    },
    /** A webhook's attempts, by number. */
    /** Records the SHA-256 of a row stored before ingest computed it. */
    setSha256(seq: number, hex: string): void {
      setSha256.run(hex, seq);
    },
    attempts(seq: number): AttemptRow[] {
      return attempts.all(seq);
    },
    /** The replays made of a webhook, oldest first (at most MAX_REPLAYS_SHOWN). */
    replaysOf(id: string): WebhookRecord[] {
      return replaysOf.all(id).map(toRecord);
    },
    /** Which of `ids` exist, in arrival order. */
    existing(ids: readonly string[]): string[] {
      return findIds.all(JSON.stringify(ids)).map((r) => r.id);
    },
    /** A webhook's deliveries, in the order of its endpoint's destinations. */
    deliveries(seq: number): DeliveryRecord[] {
      return deliveries.all(seq).map((d) => ({ ...d, queueHead: (d.queueHead as unknown) === 1 }));
    },
    /** seqs of an endpoint's failed, partial and dead-lettered webhooks, in arrival order. */
    replayableSeqs(endpointId: string): number[] {
      return replayable.all(endpointId).map((r) => r.seq);
    },
    /** Queue stats of every endpoint (oldest endpoint first), or of one. */
    queueStats(endpointId?: string): EndpointQueueStats[] {
      return (endpointId === undefined ? queueAll.all() : queueOne.all(endpointId)).map(toQueue);
    },
    /** Webhooks received at or after `since` (ms), by current status. */
    countsSince(since: number): StatusCounts {
      const r = countsSince.get(since);
      return {
        received: r?.received ?? 0,
        pending: r?.pending ?? 0,
        delivered: r?.delivered ?? 0,
        failed: r?.failed ?? 0,
        deadLetter: r?.dead_letter ?? 0,
      };
    },
    /** received_at of the earliest-arrived pending webhook of any endpoint. */
    oldestPendingAt(): number | null {
      return oldestPending.get()?.received_at ?? null;
    },
  };
}
