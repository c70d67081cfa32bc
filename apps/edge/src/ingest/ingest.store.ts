/**
 * Durable ingest with group commit.
 *
 * A provider gets its 2xx only after its webhook is committed with
 * synchronous=FULL (the WAL is fsynced). To make that affordable, every insert
 * that arrives during one turn of the event loop is committed together: one
 * fsync for the whole batch. Each insert runs in its own savepoint, so one bad
 * row (say, its endpoint was deleted meanwhile) fails alone; a failed COMMIT
 * (disk full, I/O error) fails every insert of the batch.
 */
import type { Db } from "../db/db.js";

/** A webhook to store. */
export interface NewWebhook {
  id: string;
  endpointId: string;
  receivedAt: number;
  method: string;
  query: string;
  /** [name, value] pairs in arrival order, original case. */
  headers: [string, string][];
  payload: Uint8Array;
  contentType: string | null;
  sourceIp: string | null;
  signatureValid: boolean;
  signatureReason: string | null;
  /** Dead-letter deadline. */
  deliverBy: number;
  replayOf: string | null;
}

/** Ingest persistence. */
export type IngestStore = ReturnType<typeof createIngestStore>;

interface Waiting {
  webhook: NewWebhook;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/** Prepares the ingest statements and the batcher. */
export function createIngestStore(db: Db, opts: { onBatch?: (size: number, ms: number) => void } = {}) {
  const insertWebhook = db.prepare(
    `INSERT INTO webhook (id, endpoint_id, received_at, method, query, payload_size, content_type, source_ip,
       signature_valid, signature_reason, next_attempt_at, deliver_by, replay_of)
     VALUES (@id, @endpointId, @receivedAt, @method, @query, @payloadSize, @contentType, @sourceIp,
       @signatureValid, @signatureReason, @receivedAt, @deliverBy, @replayOf)`,
  );
  const insertBody = db.prepare<[number | bigint, string, Uint8Array]>(
    `INSERT INTO webhook_body (webhook_seq, headers, payload) VALUES (?, ?, ?)`,
  );

  const insertOne = db.transaction((w: NewWebhook): number => {
    const { lastInsertRowid } = insertWebhook.run({
      id: w.id,
      endpointId: w.endpointId,
      receivedAt: w.receivedAt,
      method: w.method,
      query: w.query,
      payloadSize: w.payload.byteLength,
      contentType: w.contentType,
      sourceIp: w.sourceIp,
      signatureValid: w.signatureValid ? 1 : 0,
      signatureReason: w.signatureReason,
      deliverBy: w.deliverBy,
      replayOf: w.replayOf,
    });
    insertBody.run(lastInsertRowid, JSON.stringify(w.headers), w.payload);
    return Number(lastInsertRowid);
  });

  let waiting: Waiting[] = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    const batch = waiting;
    waiting = [];
    if (batch.length === 0) return;
    const started = performance.now();
    const outcomes: ({ ok: true; seq: number } | { ok: false; err: unknown })[] = [];
    try {
      db.pragma("synchronous = FULL");
      db.transaction(() => {
        for (const w of batch) {
          try {
            outcomes.push({ ok: true, seq: insertOne(w.webhook) });
          } catch (err) {
            outcomes.push({ ok: false, err });
          }
        }
      })();
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    } finally {
      try {
        db.pragma("synchronous = NORMAL");
      } catch {
        // note: if even the pragma fails the next batch will report the database error.
      }
    }
    opts.onBatch?.(batch.length, performance.now() - started);
    batch.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o.ok) w.resolve(o.seq);
      else w.reject(o.err);
    });
  };

  return {
    /** Stores a webhook; resolves with its seq once committed to disk. */
    insert(webhook: NewWebhook): Promise<number> {
      return new Promise((resolve, reject) => {
        waiting.push({ webhook, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    /** Commits whatever is waiting now (used at shutdown). */
    flush,
  };
}
