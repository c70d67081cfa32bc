/**
 * Full-text search over webhooks (issue #14). What is indexed, and why:
 *
 * - the first SEARCH_BODY_BYTES (64 KiB) of a body that is UTF-8 text — JSON,
 *   forms, XML: where an id, an e-mail or an error message sits; the rest of a
 *   large body and binary bodies are left out, which bounds the index to a
 *   little more than 64 KiB of text per webhook at most (a few hundred bytes
 *   for a typical one);
 * - every header value except the sealed, secret-bearing ones
 *   (webhook.headers.ts): a delivery id, a user agent, a signature's
 *   timestamp can be searched; a token never is;
 * - the event type.
 *
 * The index is FTS5 (migration 019), filled after ingest by a background
 * pass (`createSearchIndexer`) so ingest pays nothing for it; a webhook is
 * searchable a fraction of a second after it is stored. A query is words,
 * each matched as a phrase of tokens ("invoice.paid" finds invoice.paid),
 * all of them required; `searchExpression` makes that FTS5 syntax, so no
 * input is a syntax error.
 */
import type { Db } from "../db/db.js";
import type { Logger } from "../logger.js";
import type { PayloadFiles, PayloadRef } from "../payload/payload.files.js";
import { utf8Head } from "../payload/payload.text.js";
import { AppError } from "../errors.js";
import { isSealed } from "./webhook.headers.js";

/** Bytes of a body that are indexed. */
export const SEARCH_BODY_BYTES = 64 * 1024;
/** Longest query accepted, and most words in it. */
export const MAX_SEARCH_LENGTH = 500;
export const MAX_SEARCH_WORDS = 16;

/** The text indexed for a webhook: its event type, header values (not sealed ones) and the start of a text body. */
export function searchText(w: { eventType: string | null; headers: readonly [string, string][]; bodyHead: Uint8Array; truncated: boolean }): string {
  const parts: string[] = [];
  if (w.eventType) parts.push(w.eventType);
  for (const [, value] of w.headers) if (!isSealed(value)) parts.push(value);
  const text = utf8Head(w.bodyHead, w.truncated);
  if (text) parts.push(text.text);
  return parts.join("\n");
}

/**
 * The FTS5 expression for what a person typed: each word (whitespace
 * separated; a "quoted phrase" stays one) as a quoted phrase, all required.
 * invalid_argument when it is empty, too long or has too many words.
 */
export function searchExpression(query: string): string {
  const q = query.trim();
  if (!q) throw new AppError("invalid_argument", "search is empty");
  if (q.length > MAX_SEARCH_LENGTH) throw new AppError("invalid_argument", `search is longer than ${MAX_SEARCH_LENGTH} characters`);
  const words = [...q.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2] ?? "").trim()).filter(Boolean);
  if (words.length === 0) throw new AppError("invalid_argument", "search has no words");
  if (words.length > MAX_SEARCH_WORDS) throw new AppError("invalid_argument", `search has more than ${MAX_SEARCH_WORDS} words`);
  return words.map((w) => `"${w.replace(/"/g, '""')}"`).join(" ");
}

/** Webhooks indexed per pass (one transaction). */
const BATCH = 500;

/** The background pass that keeps the index up to date; start() after the database is open. */
export function createSearchIndexer(deps: { db: Db; files: Pick<PayloadFiles, "head" | "exists">; log: Logger; intervalMs?: number }) {
  const { db, files, log } = deps;
  const progress = db.prepare<[], { indexed_through: number }>(`SELECT indexed_through FROM search_progress WHERE id = 1`);
  const setProgress = db.prepare<[number]>(`UPDATE search_progress SET indexed_through = ? WHERE id = 1`);
  const next = db.prepare<
    [number, number],
    {
      seq: number;
      event_type: string | null;
      headers: string | null;
      payload: Buffer | null;
      payload_file: string | null;
      payload_size: number;
      payload_sha256: string | null;
    }
  >(
    `SELECT w.seq, w.event_type, b.headers, substr(b.payload, 1, ${SEARCH_BODY_BYTES}) AS payload, b.payload_file, w.payload_size, w.payload_sha256
     FROM webhook w LEFT JOIN webhook_body b ON b.webhook_seq = w.seq WHERE w.seq > ? ORDER BY w.seq LIMIT ?`,
  );
  const insert = db.prepare<[number, string]>(`INSERT INTO webhook_text (rowid, text) VALUES (?, ?)`);
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  /** Indexes the next batch; the number indexed. */
  const pass = db.transaction((): number => {
    const from = progress.get()?.indexed_through ?? 0;
    const rows = next.all(from, BATCH);
    for (const r of rows) {
      let head: Uint8Array = r.payload ?? Buffer.alloc(0);
      if (r.payload_file !== null) {
        const ref: PayloadRef = { size: r.payload_size, inline: Buffer.alloc(0), file: r.payload_file, sha256: r.payload_sha256 };
        head = files.exists(r.payload_file) ? files.head(ref, SEARCH_BODY_BYTES) : Buffer.alloc(0);
      }
      const headers = r.headers ? (JSON.parse(r.headers) as [string, string][]) : [];
      insert.run(r.seq, searchText({ eventType: r.event_type, headers, bodyHead: head, truncated: r.payload_size > head.length }));
    }
    if (rows.length > 0) setProgress.run(rows.at(-1)!.seq);
    return rows.length;
  });

  /** One pass; the number indexed, or 0 when it failed (a storage error: the next tick tries again). */
  const step = (): number => {
    try {
      const n = pass.immediate();
      if (failing) log.info("search index writes again");
      failing = false;
      return n;
    } catch (err) {
      if (!failing) log.warn({ err }, "could not index webhooks for search; trying again shortly");
      failing = true;
      return 0;
    }
  };
  /** Passes until the backlog is done, yielding to the event loop between them (an upgrade's backlog must not stall ingest). */
  let running = false;
  const tick = (): void => {
    if (running) return;
    running = true;
    const go = (): void => {
      if (step() === BATCH && timer) setImmediate(go);
      else running = false;
    };
    go();
  };

  return {
    /** Indexes everything not indexed yet, now, in one go (tests, and the bench). */
    catchUp(): number {
      let total = 0;
      for (let n = step(); n > 0; n = n === BATCH ? step() : 0) total += n;
      return total;
    },
    start(): void {
      timer = setInterval(tick, deps.intervalMs ?? 500);
      timer.unref();
      tick();
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
