/**
 * The rows the payload file store answers to: which files rows name, and
 * which names were let go (migration 008's trigger records every file whose
 * webhook_body row was deleted, in the deleting transaction).
 */
import type { Db } from "../db/db.js";
import { FILE_PAYLOAD_BYTES } from "./payload.files.js";

/** Payload file bookkeeping. */
export type PayloadStore = ReturnType<typeof createPayloadStore>;

/** Prepares the statements. */
export function createPayloadStore(db: Db) {
  const named = db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM webhook_body WHERE payload_file = ? LIMIT 1`);
  const gone = db.prepare<[number], { name: string }>(`SELECT name FROM payload_file_gone ORDER BY name LIMIT ?`);
  const forgetOne = db.prepare<[string]>(`DELETE FROM payload_file_gone WHERE name = ?`);
  const forget = db.transaction((names: readonly string[]) => {
    for (const n of names) forgetOne.run(n);
  });
  // note: the condition is migration 009's partial index's, literally (a bound parameter would not let SQLite use it).
  const nextInline = db.prepare<[number], { seq: number; id: string }>(
    `SELECT b.webhook_seq AS seq, w.id AS id FROM webhook_body b INDEXED BY webhook_body_inline_large JOIN webhook w ON w.seq = b.webhook_seq
     WHERE b.webhook_seq > ? AND b.payload_file IS NULL AND length(b.payload) > ${FILE_PAYLOAD_BYTES} ORDER BY b.webhook_seq LIMIT 1`,
  );
  const inlineBytes = db.prepare<[number], { payload: Buffer }>(`SELECT payload FROM webhook_body WHERE webhook_seq = ? AND payload_file IS NULL`);
  const toFile = db.prepare<[string, number, number]>(
    `UPDATE webhook_body SET payload = x'', payload_file = ? WHERE webhook_seq = ? AND payload_file IS NULL AND length(payload) = ?`,
  );
  const recordSha = db.prepare<[string, number]>(`UPDATE webhook SET payload_sha256 = ? WHERE seq = ? AND payload_sha256 IS NULL`);
  const movedToFile = db.transaction((seq: number, file: string, size: number, sha256: string): boolean => {
    if (toFile.run(file, seq, size).changes === 0) return false;
    recordSha.run(sha256, seq);
    return true;
  });
  return {
    /** Whether some row names this payload file. */
    referenced(name: string): boolean {
      return named.get(name) !== undefined;
    },
    /** Up to `limit` files whose rows are gone, to delete. */
    gone(limit: number): string[] {
      return gone.all(limit).map((r) => r.name);
    },
    /** Drops names whose files are deleted. */
    forget(names: readonly string[]): void {
      forget(names);
    },
    /** The first row after `afterSeq` whose body over FILE_PAYLOAD_BYTES is still in the row (stored before payload files). */
    nextInline(afterSeq: number): { seq: number; id: string } | undefined {
      return nextInline.get(afterSeq);
    },
    /** That row's body, read whole (undefined if it is gone or already a file). */
    inlineBytes(seq: number): Buffer | undefined {
      return inlineBytes.get(seq)?.payload;
    },
    /**
     * Points the row at `file` and empties its payload column, if the row is
     * still there with the same body in it; records the SHA-256 if it had none.
     * Returns whether it did.
     */
    movedToFile(seq: number, file: string, size: number, sha256: string): boolean {
      return movedToFile(seq, file, size, sha256);
    },
  };
}
