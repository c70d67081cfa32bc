/**
 * Durable ingest with group commit.
 *
 * A provider gets its 2xx only after its webhook is on disk. Every insert that
 * arrives during one turn of the event loop is committed together, and the
 * commit is made durable by an fsync of the WAL file before anyone is
 * answered — the same guarantee as synchronous=FULL (which fsyncs the WAL at
 * each commit), but the fsync runs on libuv's thread pool instead of blocking
 * the event loop, so requests keep being parsed while the disk works, and
 * batches that commit while an fsync is in flight share the next one.
 *
 * note: why this is as safe as FULL: in WAL mode a committed frame is either
 * still in the WAL (our fsync covers it) or was checkpointed into the main
 * file, and SQLite syncs the main file after every checkpoint even at NORMAL.
 * The WAL file is reopened if SQLite ever replaces it (inode check).
 *
 * A batch is first inserted in one transaction without savepoints (the fast
 * path); only if that fails is it retried with one savepoint per row, so one
 * bad row (say, its endpoint was deleted meanwhile) fails alone. A failed
 * COMMIT or fsync (disk full, I/O error) fails every insert of the batch.
 *
 * Delivery may start as soon as a batch commits, while its fsync runs (see
 * onCommit): a webhook lost to a power cut before the fsync was never
 * answered 2xx, so its provider sends it again — at least once still holds,
 * and the fsync's latency is not added to every delivery.
 */
import { closeSync, fstatSync, fsync, openSync, statSync } from "node:fs";
import type { Db } from "../db/db.js";
import type { PayloadRef } from "../payload/payload.files.js";

/** A webhook to store. */
export interface NewWebhook {
  id: string;
  endpointId: string;
  receivedAt: number;
  method: string;
  query: string;
  /** [name, value] pairs in arrival order, original case. */
  headers: [string, string][];
  /** The body: its bytes in the row, or the name of its (committed) payload file. */
  payload: PayloadRef;
  contentType: string | null;
  sourceIp: string | null;
  signatureValid: boolean;
  signatureReason: string | null;
  eventType: string | null;
  /** One delivery per destination it was routed to; filtered ones are recorded as such. */
  routes: readonly { destinationId: string; filteredBecause: string | null; held?: boolean; maxAgeMs?: number | null }[];
  /** Dead-letter deadline of its deliveries. */
  deliverBy: number;
  replayOf: string | null;
  /** A replay signed afresh (verify.sign.ts) instead of carrying the provider's signature. */
  resigned?: boolean;
  /** The provider's id, when its endpoint deduplicates (ingest.dedup.ts). */
  dedupKey?: string | null;
  /** The earlier webhook this one repeats (then every route is filtered as a duplicate). */
  duplicateOf?: string | null;
}

const EMPTY = Buffer.alloc(0);

/** Ingest persistence. */
export type IngestStore = ReturnType<typeof createIngestStore>;

interface Waiting {
  webhook: NewWebhook;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/** Prepares the ingest statements and the batcher. */
export function createIngestStore(
  db: Db,
  opts: {
    onBatch?: (size: number, ms: number) => void;
    /**
     * Called right after a batch commits, before its fsync: the rows are visible
     * to the dispatcher, which may start delivering them while the disk syncs.
     */
    onCommit?: (destinationIds: Set<string>) => void;
  } = {},
) {
  const insertWebhook = db.prepare(
    `INSERT INTO webhook (id, endpoint_id, received_at, method, query, payload_size, payload_sha256, content_type, source_ip,
       signature_valid, signature_reason, event_type, delivery_count, status, settled_at, replay_of, dedup_key, duplicate_of, resigned)
     VALUES (@id, @endpointId, @receivedAt, @method, @query, @payloadSize, @payloadSha256, @contentType, @sourceIp,
       @signatureValid, @signatureReason, @eventType, @deliveryCount, @status, @settledAt, @replayOf, @dedupKey, @duplicateOf, @resigned)`,
  );
  const insertDelivery = db.prepare<[number | bigint, string, string, number, number, number | null, string | null, number | null]>(
    `INSERT INTO delivery (webhook_seq, destination_id, status, next_attempt_at, deliver_by, settled_at, error_message, held_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const earlierWithKey = db.prepare<[string, string, number], { id: string }>(
    `SELECT id FROM webhook WHERE endpoint_id = ? AND dedup_key = ? AND received_at >= ? AND duplicate_of IS NULL ORDER BY received_at LIMIT 1`,
  );
  const insertBody = db.prepare<[number | bigint, string, Uint8Array, string | null]>(
    `INSERT INTO webhook_body (webhook_seq, headers, payload, payload_file) VALUES (?, ?, ?, ?)`,
  );

  const insertRow = (w: NewWebhook): number => {
    const queued = w.routes.some((r) => r.filteredBecause === null);
    const { lastInsertRowid } = insertWebhook.run({
      id: w.id,
      endpointId: w.endpointId,
      receivedAt: w.receivedAt,
      method: w.method,
      query: w.query,
      payloadSize: w.payload.size,
      payloadSha256: w.payload.sha256,
      contentType: w.contentType,
      sourceIp: w.sourceIp,
      signatureValid: w.signatureValid ? 1 : 0,
      signatureReason: w.signatureReason,
      eventType: w.eventType,
      deliveryCount: w.routes.length,
      status: queued ? "pending" : "filtered",
      settledAt: queued ? null : w.receivedAt,
      replayOf: w.replayOf,
      dedupKey: w.dedupKey ?? null,
      duplicateOf: w.duplicateOf ?? null,
      resigned: w.resigned ? 1 : 0,
    });
    insertBody.run(lastInsertRowid, JSON.stringify(w.headers), w.payload.file === null ? w.payload.inline : EMPTY, w.payload.file);
    for (const r of w.routes) {
      // note: a destination's maximum age counts from arrival, like DEAD_LETTER_AFTER.
      const deliverBy = r.maxAgeMs ? w.receivedAt + r.maxAgeMs : w.deliverBy;
      if (r.filteredBecause === null) {
        insertDelivery.run(lastInsertRowid, r.destinationId, "pending", w.receivedAt, deliverBy, null, null, r.held ? w.receivedAt : null);
      } else {
        insertDelivery.run(lastInsertRowid, r.destinationId, "filtered", w.receivedAt, deliverBy, w.receivedAt, `filtered: ${r.filteredBecause}`, null);
      }
    }
    return Number(lastInsertRowid);
  };
  /** The same insert in its own savepoint, for the slow path. */
  const insertOne = db.transaction(insertRow);
  /** Fast path: the whole batch with no savepoints. */
  const insertAll = db.transaction((batch: readonly Waiting[]): number[] => batch.map((w) => insertRow(w.webhook)));
  /** Slow path: one savepoint per row, so a bad row fails alone. */
  const insertEach = db.transaction((batch: readonly Waiting[]) =>
    batch.map((w): { ok: true; seq: number } | { ok: false; err: unknown } => {
      try {
        return { ok: true, seq: insertOne(w.webhook) };
      } catch (err) {
        return { ok: false, err };
      }
    }),
  );

  let waiting: Waiting[] = [];
  let scheduled = false;
  const walPath = db.name !== ":memory:" && String(db.pragma("journal_mode", { simple: true })).toLowerCase() === "wal" ? `${db.name}-wal` : undefined;
  let walFd: number | undefined;
  const syncing = new Set<Promise<void>>();

  /**
   * fsyncs the WAL file off the event loop. At most one fsync runs at a time:
   * commits made while one is running wait for the next, which covers them
   * all — so a slow disk makes batches bigger instead of queueing fsyncs.
   */
  let syncRunning = false;
  let syncWaiters: ((err: unknown) => void)[] = [];
  const startSync = (): void => {
    syncRunning = true;
    const waiters = syncWaiters;
    syncWaiters = [];
    const done = (err: unknown) => {
      syncRunning = false;
      for (const w of waiters) w(err);
      if (syncWaiters.length > 0) startSync();
    };
    try {
      if (walFd !== undefined && fstatSync(walFd).ino !== statSync(walPath!).ino) {
        closeSync(walFd);
        walFd = undefined;
      }
      walFd ??= openSync(walPath!, "r");
    } catch (err) {
      done(err);
      return;
    }
    fsync(walFd, (err) => done(err ?? undefined));
  };
  const syncWal = (): Promise<void> =>
    new Promise((resolve, reject) => {
      syncWaiters.push((err) => (err ? reject(err) : resolve()));
      if (!syncRunning) startSync();
    });

  const flush = (): void => {
    scheduled = false;
    const batch = waiting;
    waiting = [];
    if (batch.length === 0) return;
    const started = performance.now();
    let outcomes: ({ ok: true; seq: number } | { ok: false; err: unknown })[];
    try {
      // note: without a WAL file to fsync (an in-memory or non-WAL database), commit with FULL.
      if (!walPath) db.pragma("synchronous = FULL");
      try {
        outcomes = insertAll(batch).map((seq) => ({ ok: true as const, seq }));
      } catch {
        // note: something failed (a bad row, or the disk): redo row by row to find out which.
        outcomes = insertEach(batch);
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    } finally {
      if (!walPath) {
        try {
          db.pragma("synchronous = NORMAL");
        } catch {
          // note: if even the pragma fails the next batch will report the database error.
        }
      }
    }
    if (opts.onCommit) {
      const committed = new Set<string>();
      batch.forEach((w, i) => {
        if (outcomes[i]!.ok) for (const r of w.webhook.routes) if (r.filteredBecause === null) committed.add(r.destinationId);
      });
      try {
        if (committed.size > 0) opts.onCommit(committed);
      } catch {
        // note: a failing listener must not strand the batch's providers; the dispatcher's sweep catches up.
      }
    }
    const settle = (syncError?: unknown) => {
      opts.onBatch?.(batch.length, performance.now() - started);
      batch.forEach((w, i) => {
        const o = outcomes[i]!;
        if (syncError) w.reject(syncError);
        else if (o.ok) w.resolve(o.seq);
        else w.reject(o.err);
      });
    };
    if (!walPath) {
      settle();
      return;
    }
    const synced = syncWal().then(() => settle(), settle);
    syncing.add(synced);
    void synced.finally(() => syncing.delete(synced));
  };

  return {
    /** The first webhook of `endpointId` with the provider id `key` received at or after `since` (not itself a duplicate). */
    earlierWithKey(endpointId: string, key: string, since: number): string | undefined {
      return earlierWithKey.get(endpointId, key, since)?.id;
    },
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
    /** Commits what is waiting, waits for every fsync in flight, closes the WAL handle. */
    async close(): Promise<void> {
      flush();
      await Promise.allSettled([...syncing]);
      if (walFd !== undefined) closeSync(walFd);
      walFd = undefined;
    },
  };
}
